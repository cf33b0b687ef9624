/**
 * CSV test fixtures: a report over a small collection of awkward values with its expected CSV
 * written out by hand (the format in src/results/csv.ts), and a large synthetic collection for
 * streaming tests. Reports are added to the running catalogue, as a report module would be.
 */
import { Decimal128, ObjectId, type Db } from "mongodb";
import { object } from "superstruct";
import { defineReport } from "../../src/reports/define.ts";

export const AWKWARD_COLLECTION = "csv_awkward";
export const BULK_COLLECTION = "csv_bulk";

export const awkwardReport = defineReport({
  name: "csv-awkward",
  collection: AWKWARD_COLLECTION,
  description: "Awkward values for CSV tests",
  params: object({}),
  pipeline: () => [
    { $sort: { n: 1 } },
    { $project: { _id: 0, n: 1, text: 1, num: 1, flag: 1, when: 1, oid: 1, list: 1, nested: 1, dec: 1 } },
  ],
  columns: ["n", "text", "num", "flag", "when", "oid", "list", "nested", "dec", "absent"].map((name) => ({ name })),
});

export const AWKWARD_DOCS = [
  {
    n: 1,
    text: "plain",
    num: 1.5,
    flag: true,
    when: new Date("2001-02-03T04:05:06.007Z"),
    oid: new ObjectId("5a9427648b0beebeb69579e7"),
    list: ["Drama", "Crime"],
    nested: { a: 1, at: new Date("2020-01-01T00:00:00Z"), ids: [new ObjectId("000000000000000000000001")] },
    dec: Decimal128.fromString("1234567890.123456789"),
  },
  { n: 2, text: 'comma, "quoted" and\nnewline', num: 1e21, flag: false, list: [], nested: {} },
  { n: 3, text: "Unicode: café — 日本語 🙂 \u00a0", num: 0, list: ["a,b", 'say "hi"', null, 7] },
  { n: 4, text: "", num: -2.25, when: null, nested: { deep: { deeper: ["x\ny"] } } },
  { n: 5, text: "carriage\rreturn and\r\nCRLF", num: 3 },
  { n: 6, text: "  padded  ", num: 42 },
];

/** What the CSV of AWKWARD_DOCS must be, byte for byte (RFC 4180: CRLF, quotes doubled). */
export const AWKWARD_CSV =
  "n,text,num,flag,when,oid,list,nested,dec,absent\r\n" +
  '1,plain,1.5,true,2001-02-03T04:05:06.007Z,5a9427648b0beebeb69579e7,"[""Drama"",""Crime""]","{""a"":1,""at"":""2020-01-01T00:00:00.000Z"",""ids"":[""000000000000000000000001""]}",1234567890.123456789,\r\n' +
  '2,"comma, ""quoted"" and\nnewline",1e+21,false,,,[],{},,\r\n' +
  '3,Unicode: café — 日本語 🙂 \u00a0,0,,,,"[""a,b"",""say \\""hi\\"""",null,7]",,,\r\n' +
  '4,,-2.25,,,,,"{""deep"":{""deeper"":[""x\\ny""]}}",,\r\n' +
  '5,"carriage\rreturn and\r\nCRLF",3,,,,,,,\r\n' +
  "6,  padded  ,42,,,,,,,\r\n";

export async function loadAwkward(db: Db): Promise<void> {
  await db.collection(AWKWARD_COLLECTION).insertMany(AWKWARD_DOCS.map((doc) => ({ ...doc })));
}

/** Rows of about 300 bytes each: n, a label, and a filler made by the pipeline (not stored). */
export const bulkReport = defineReport({
  name: "csv-bulk",
  collection: BULK_COLLECTION,
  description: "Many synthetic rows for streaming tests",
  params: object({}),
  pipeline: () => [
    { $sort: { n: 1 } },
    { $project: { _id: 0, n: 1, label: { $concat: ['row, "', { $toString: "$n" }, '"'] }, filler: { $literal: "x".repeat(256) } } },
  ],
  columns: [{ name: "n" }, { name: "label" }, { name: "filler" }],
});

/** The CSV line bulkReport produces for row n. */
export function bulkLine(n: number): string {
  return `${n},"row, ""${n}""",${"x".repeat(256)}\r\n`;
}

export async function loadBulk(db: Db, count: number): Promise<void> {
  const collection = db.collection(BULK_COLLECTION);
  const batch = 10_000;
  for (let start = 0; start < count; start += batch) {
    const docs = [];
    for (let n = start; n < Math.min(count, start + batch); n++) docs.push({ n });
    await collection.insertMany(docs, { ordered: false });
  }
}
