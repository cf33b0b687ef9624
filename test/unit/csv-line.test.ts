/**
 * The CSV line writer against csv-stringify (the library it replaced, kept as a development
 * dependency to check against): the same bytes for any fields, and the encoder's whole file.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { stringify } from "csv-stringify/sync";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CSV, csvField, csvLine } from "../../src/results/csv.ts";

const test = suite("csv line");

/** What the export wrote with csv-stringify: CRLF records, a lone CR or LF quoted too. */
const reference = (records: string[][]) => stringify(records, { record_delimiter: "\r\n", quoted_match: /[\r\n]/ });

test("fields are quoted only for comma, quote, CR or LF, with quotes doubled", () => {
  assert.is(csvField(""), "");
  assert.is(csvField("plain text é 😀"), "plain text é 😀");
  assert.is(csvField("a,b"), '"a,b"');
  assert.is(csvField('say "hi"'), '"say ""hi"""');
  assert.is(csvField("cr\ronly"), '"cr\ronly"');
  assert.is(csvField("lf\nonly"), '"lf\nonly"');
  assert.is(csvField("tab\tand 'single'"), "tab\tand 'single'");
  assert.is(csvLine(["", "x", ""]), ",x,\r\n");
});

test("any fields give the same line as csv-stringify", () => {
  const awkward = fc.string({ unit: fc.constantFrom("a", ",", '"', "\r", "\n", " ", "'", "\t", "=", "é", "😀") });
  const field = fc.oneof(awkward, fc.string({ unit: "grapheme" }));
  fc.assert(
    fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), (fields) => csvLine(fields) === reference([fields])),
    { numRuns: 5_000 },
  );
});

async function encode(rows: Record<string, unknown>[], names: string[]): Promise<string> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(rows), CSV.encoder(names.map((name) => ({ name }))), sink);
  return Buffer.concat(parts).toString("utf8");
}

test("the encoder writes the header and every row as csv-stringify did, across 64 KiB writes", async () => {
  const names = ["n", "text", "when"];
  const rows = Array.from({ length: 3_000 }, (_, n) => ({ n, text: `row, "${n}"\n${"x".repeat(n % 50)}`, when: new Date(n * 1000) }));
  const expected = reference([names, ...rows.map((row) => [String(row.n), row.text, row.when.toISOString()])]);
  assert.is(await encode(rows, names), expected);
});

test("an empty result is the header line alone", async () => {
  assert.is(await encode([], ["a", "b,c"]), 'a,"b,c"\r\n');
});

test.run();
