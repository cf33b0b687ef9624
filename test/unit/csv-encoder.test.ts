/**
 * The CSV encoder (csv-stringify as the export configures it): RFC 4180 as docs/api.md states it,
 * for any fields, across 64 KiB writes, and for an empty result.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CSV } from "../../src/results/csv.ts";
import type { EncodeOptions } from "../../src/results/formats/format.ts";

const test = suite("csv encoder");

/** The rule the export promises: a field is quoted only when it holds a comma, a quote, CR or LF, its quotes doubled; CRLF after every record. */
const field = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
const reference = (records: string[][]) => records.map((record) => `${record.map(field).join(",")}\r\n`).join("");

async function encode(rows: Record<string, unknown>[], names: string[], options: EncodeOptions = {}): Promise<string> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  await pipeline(
    Readable.from(rows),
    CSV.encoder(
      names.map((name) => ({ name })),
      options,
    ),
    sink,
  );
  return Buffer.concat(parts).toString("utf8");
}

test("any fields are written by that rule (a lone CR or LF quoted too)", async () => {
  const awkward = fc.string({ unit: fc.constantFrom("a", ",", '"', "\r", "\n", " ", "'", "\t", "é", "😀") });
  const cell = fc.oneof(awkward, fc.string({ unit: "grapheme" }));
  await fc.assert(
    fc.asyncProperty(fc.array(cell, { minLength: 1, maxLength: 6 }), async (fields) => {
      const names = fields.map((_, i) => `c${i}`);
      const row = Object.fromEntries(fields.map((value, i) => [names[i], value]));
      return (await encode([row], names, { formulaGuard: false })) === reference([names, fields]);
    }),
    { numRuns: 1_000 },
  );
});

test("the encoder writes the header and every row, across 64 KiB writes", async () => {
  const names = ["n", "text", "when"];
  const rows = Array.from({ length: 3_000 }, (_, n) => ({ n, text: `row, "${n}"\n${"x".repeat(n % 50)}`, when: new Date(n * 1000) }));
  const expected = reference([names, ...rows.map((row) => [String(row.n), row.text, row.when.toISOString()])]);
  assert.is(await encode(rows, names), expected);
});

test("an empty result is the header line alone", async () => {
  assert.is(await encode([], ["a", "b,c"]), 'a,"b,c"\r\n');
});

test.run();
