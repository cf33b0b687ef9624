/**
 * Each export format writes every row it is given, with its types, and says so when the result
 * goes past one of its limits. Files are read back by independent readers (pyarrow, openpyxl,
 * JSON.parse) and compared with the rows as the JSON pages show them.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Decimal128, Long, ObjectId } from "mongodb";
import type { Column } from "../../src/reports/define.ts";
import { FormatLimitError } from "../../src/results/formats/format.ts";
import { looksLikeFormula } from "../../src/results/formula-guard.ts";
import { NDJSON } from "../../src/results/formats/ndjson.ts";
import { PARQUET } from "../../src/results/formats/parquet.ts";
import { columnLetters, excelSerial, XLSX, xmlText } from "../../src/results/formats/xlsx.ts";
import { readParquet, readXlsx } from "../support/export-readers.ts";

const test = suite("export formats");

async function encode(encoder: Transform, rows: Record<string, unknown>[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from(rows),
    encoder,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(chunks);
}

const COLUMNS: Column[] = [
  { name: "name", type: "string" },
  { name: "count", type: "integer" },
  { name: "average", type: "number" },
  { name: "when", type: "date" },
  { name: "flag", type: "boolean" },
  { name: "tags", type: "json" },
];

const TEXTS = [
  "plain",
  "Zoë — 東京 🎬",
  '=HYPERLINK("http://example.com","x")',
  "+1 555 0100",
  "-2+3",
  "@SUM(A1:A2)",
  "line\nbreak",
  "carriage\rreturn\r\n",
  "<tag> & \"quotes\" 'single'",
  "_x0041_ literal",
  "bell\u0007 and nul\u0000",
  "  spaces kept  ",
  " =after a space",
  "＝full-width",
  "",
];

/** Rows of every kind of value, as a report's cursor returns them. */
function sampleRows(): Record<string, unknown>[] {
  return TEXTS.map((name, i) => ({
    name,
    count: i === 3 ? null : i * 1000 - 3,
    average: [7.65, -0.5, 1e21, 3, 0.1 + 0.2][i % 5],
    when: i === 4 ? undefined : new Date(Date.UTC(1950 + i * 7, i, 1 + i, i, 2 * i, 3, i * 37)),
    flag: i % 3 === 0 ? true : i % 3 === 1 ? false : null,
    tags: i % 2 === 0 ? ["Drama", `n${i}`] : { nested: i },
  }));
}

/** A row as the JSON pages show it (JSON.stringify of the stored row), every column present. */
function asJson(row: Record<string, unknown>, columns: readonly Column[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name } of columns) out[name] = row[name] === undefined ? null : JSON.parse(JSON.stringify(row[name]));
  return out;
}

test("NDJSON: one row a line, UTF-8, every column, equal to the JSON rows", async () => {
  const rows = sampleRows();
  const file = await encode(NDJSON.encoder(COLUMNS), rows);
  const text = file.toString("utf8");
  assert.ok(text.endsWith("\n"));
  const lines = text.slice(0, -1).split("\n");
  assert.is(lines.length, rows.length);
  assert.equal(
    lines.map((line) => JSON.parse(line)),
    rows.map((row) => asJson(row, COLUMNS)),
  );
  assert.equal(
    Object.keys(JSON.parse(lines[0])),
    COLUMNS.map((c) => c.name),
  );
});

test("NDJSON: an empty result is an empty file", async () => {
  assert.is((await encode(NDJSON.encoder(COLUMNS), [])).length, 0);
});

test("Parquet: pyarrow reads the declared types and every row, equal to the JSON rows", async () => {
  const rows = sampleRows();
  const read = await readParquet(await encode(PARQUET.encoder(COLUMNS), rows));
  assert.equal(read.schema, {
    name: "string",
    count: "int64",
    average: "double",
    when: "timestamp[ms, tz=UTC]",
    flag: "bool",
    tags: "string",
  });
  const expected = rows.map((row) => {
    const json = asJson(row, COLUMNS);
    // json columns are JSON text in Parquet.
    return { ...json, tags: JSON.stringify(json.tags) };
  });
  assert.equal(read.rows, expected);
});

test("Parquet: row groups are bounded, and rows come back in order across them", async () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ name: `row ${i}`, count: i }));
  const columns: Column[] = [
    { name: "name", type: "string" },
    { name: "count", type: "integer" },
  ];
  const read = await readParquet(await encode(PARQUET.encoder(columns, { rowGroupRows: 3 }), rows));
  assert.is(read.row_groups, 4);
  assert.equal(read.rows, rows);
});

test("Parquet: undeclared columns are text as the CSV writes it; BSON numbers fit number and integer columns", async () => {
  const id = new ObjectId("5a9427648b0beebeb69579e7");
  const columns: Column[] = [{ name: "id" }, { name: "price", type: "number" }, { name: "votes", type: "integer" }, { name: "n" }];
  const read = await readParquet(
    await encode(PARQUET.encoder(columns), [
      { id, price: Decimal128.fromString("12.25"), votes: Long.fromNumber(9_007_199_254_740_000), n: 4 },
    ]),
  );
  assert.equal(read.schema, { id: "string", price: "double", votes: "int64", n: "string" });
  assert.equal(read.rows, [{ id: id.toHexString(), price: 12.25, votes: 9_007_199_254_740_000, n: "4" }]);
});

test("Parquet: a mixed column is text with its numbers as text; a typed column with gaps stays typed, its gaps null", async () => {
  // The shapes of a messy data set (sample_mflix's years "2005è", ratings and votes "").
  const columns: Column[] = [
    { name: "year" },
    { name: "label", type: "string" },
    { name: "rating", type: "number" },
    { name: "votes", type: "integer" },
    { name: "when", type: "date" },
    { name: "flag", type: "boolean" },
  ];
  const when = new Date(Date.UTC(2005, 6, 1, 12, 30));
  const rows = [
    { year: 1999, label: 42, rating: 7.5, votes: 12, when, flag: true },
    { year: "2005è", label: "x", rating: "", votes: "", when: "", flag: "" },
    { year: 2001.5, label: 0.25, rating: 8, votes: Long.fromNumber(3), when, flag: false },
    { year: "", label: "", rating: null, votes: null, when: null, flag: null },
    {},
  ];
  const read = await readParquet(await encode(PARQUET.encoder(columns, { rowGroupRows: 2 }), rows));
  assert.equal(read.schema, {
    year: "string",
    label: "string",
    rating: "double",
    votes: "int64",
    when: "timestamp[ms, tz=UTC]",
    flag: "bool",
  });
  const at = "2005-07-01T12:30:00.000Z";
  assert.equal(read.rows, [
    { year: "1999", label: "42", rating: 7.5, votes: 12, when: at, flag: true },
    { year: "2005è", label: "x", rating: null, votes: null, when: null, flag: null },
    { year: "2001.5", label: "0.25", rating: 8, votes: 3, when: at, flag: false },
    { year: "", label: "", rating: null, votes: null, when: null, flag: null },
    { year: null, label: null, rating: null, votes: null, when: null, flag: null },
  ]);
});

test("XLSX: a mixed column keeps each cell's own type (numbers are numbers, text is text)", async () => {
  const [sheet] = await readXlsx(await encode(XLSX.encoder([{ name: "year" }]), [{ year: 1999 }, { year: "2005è" }, { year: 2001.5 }]));
  assert.equal(
    sheet.rows.map((row) => row.year),
    [1999, "2005è", 2001.5],
  );
});

test("Parquet: a value that does not fit its declared type fails with the row and column", async () => {
  const columns: Column[] = [{ name: "count", type: "integer" }];
  try {
    await encode(PARQUET.encoder(columns), [{ count: 1 }, { count: 1.5 }]);
    assert.unreachable("1.5 was written into an integer column");
  } catch (error) {
    assert.instance(error, FormatLimitError);
    assert.match((error as Error).message, /row 2, column count: 1\.5 .*integer/);
  }
  try {
    await encode(PARQUET.encoder([{ name: "rating", type: "number" }]), [{ rating: 7.5 }, { rating: "" }, { rating: "n/a" }]);
    assert.unreachable('"n/a" was written into a number column');
  } catch (error) {
    assert.instance(error, FormatLimitError);
    assert.match((error as Error).message, /row 3, column rating: "n\/a" .*number/);
  }
});

test("XLSX: openpyxl reads numbers, dates, booleans and text, equal to the JSON rows; header bold and frozen", async () => {
  const rows = sampleRows();
  const [sheet, ...more] = await readXlsx(await encode(XLSX.encoder(COLUMNS), rows));
  assert.is(more.length, 0);
  assert.equal(
    sheet.header,
    COLUMNS.map((c) => c.name),
  );
  assert.is(sheet.frozen, "A2");
  const expected = rows.map((row) => {
    const json = asJson(row, COLUMNS);
    // JSON columns are text.
    return { ...json, tags: JSON.stringify(json.tags) };
  });
  assert.equal(sheet.rows, expected);
});

test("XLSX: formula-like text stays text and is marked quote-prefix; other text is not", async () => {
  const rows = TEXTS.map((name) => ({ name }));
  const [sheet] = await readXlsx(await encode(XLSX.encoder([{ name: "name" }]), rows));
  const guarded = TEXTS.map((text, i) => (looksLikeFormula(text) ? `A${i + 2}` : null)).filter(Boolean);
  assert.equal(sheet.quote_prefix, guarded);
  assert.equal(
    sheet.rows.map((row) => row.name),
    TEXTS,
  );
  const [unguarded] = await readXlsx(await encode(XLSX.encoder([{ name: "name" }], { formulaGuard: false }), rows));
  assert.equal(unguarded.quote_prefix, []);
});

test("XLSX: a result longer than a sheet continues on the next sheet, each with its header, nothing cut off", async () => {
  const rows = Array.from({ length: 10 }, (_, i) => ({ n: i, label: `row ${i}` }));
  const columns: Column[] = [
    { name: "n", type: "integer" },
    { name: "label", type: "string" },
  ];
  const sheets = await readXlsx(await encode(XLSX.encoder(columns, { rowsPerSheet: 4 }), rows));
  assert.equal(
    sheets.map((s) => s.name),
    ["Sheet1", "Sheet2", "Sheet3", "Sheet4"],
  );
  for (const sheet of sheets) assert.equal(sheet.header, ["n", "label"]);
  assert.equal(
    sheets.map((s) => s.rows.length),
    [3, 3, 3, 1],
  );
  assert.equal(
    sheets.flatMap((s) => s.rows),
    rows,
  );
});

test("XLSX: an empty result is a sheet with its header", async () => {
  const sheets = await readXlsx(await encode(XLSX.encoder(COLUMNS), []));
  assert.equal(
    sheets.map((s) => [s.header, s.rows.length]),
    [[COLUMNS.map((c) => c.name), 0]],
  );
});

test("XLSX: text longer than a cell holds fails with the row and column instead of being shortened", async () => {
  try {
    await encode(XLSX.encoder([{ name: "name" }]), [{ name: "short" }, { name: "x".repeat(32_768) }]);
    assert.unreachable("a 32,768-character cell was written");
  } catch (error) {
    assert.instance(error, FormatLimitError);
    assert.match((error as Error).message, /row 2, column name: 32768 characters/);
  }
});

test("XLSX helpers: column letters, Excel serial dates (1900 leap-year bug), XML text", () => {
  assert.equal([0, 25, 26, 27, 701, 702, 16_383].map(columnLetters), ["A", "Z", "AA", "AB", "ZZ", "AAA", "XFD"]);
  assert.is(excelSerial(new Date("1900-01-01T00:00:00Z")), 1);
  assert.is(excelSerial(new Date("1900-02-28T00:00:00Z")), 59);
  assert.is(excelSerial(new Date("1900-03-01T00:00:00Z")), 61);
  assert.is(excelSerial(new Date("2001-02-03T12:00:00Z")), 36_925.5);
  assert.is(excelSerial(new Date("1899-12-31T00:00:00Z")), undefined);
  assert.is(xmlText("a<b>&c\r\u0001_x0041_"), "a&lt;b&gt;&amp;c&#13;_x0001__x005F_x0041_");
});

test.run();
