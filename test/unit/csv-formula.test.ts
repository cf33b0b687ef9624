/** The CSV formula guard (OWASP CSV injection): which cells are neutralised, and which never are. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { Decimal128, Long, ObjectId } from "mongodb";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CSV, toRecord } from "../../src/results/csv.ts";
import { neutraliseFormula } from "../../src/results/formula-guard.ts";
import { loadConfig } from "../../src/config.ts";

const test = suite("csv formula guard");

test("text starting with = + - @ tab or CR gets a leading single quote; other text is untouched", () => {
  for (const text of ['=HYPERLINK("http://example.com","x")', "+1 555 0100", "-2+3", "@SUM(A1:A2)", "\tx", "\rx"]) {
    assert.is(neutraliseFormula(text), `'${text}`);
  }
  for (const text of ["", "plain", "1+1", " 12", "a=b", "'already", "x\n=1", "\u00a0plain"]) {
    assert.is(neutraliseFormula(text), text);
  }
});

// Each form the OWASP guidance and the security review name, one test each: a spreadsheet may skip
// what comes before the sign, or read the full-width sign as its ASCII twin.
const HIDDEN_STARTS: [string, string][] = [
  ["a leading space", " =1+1"],
  ["leading spaces", "   +1"],
  ["a no-break space", "\u00a0=1+1"],
  ["an ideographic space", "\u3000=1+1"],
  ["a byte-order mark", "\uFEFF=1+1"],
  ["a line feed", "\n=1+1"],
  ["a line feed alone", "\nplain"],
  ["a full-width equals sign", "\uFF1D1+1"],
  ["a full-width plus sign", "\uFF0B1"],
  ["a full-width hyphen-minus", "\uFF0D1"],
  ["a full-width commercial at", "\uFF20SUM(A1)"],
  ["a small equals sign", "\uFE661+1"],
  ["a space then a full-width equals sign", " \uFF1D1"],
];
for (const [what, text] of HIDDEN_STARTS) {
  test(`a cell starting with ${what} is guarded`, () => {
    assert.is(neutraliseFormula(text), `'${text}`);
    assert.equal(toRecord({ a: text }, ["a"]), [`'${text}`]);
  });
}

test("column names are guarded in the header too (unless the guard is off)", async () => {
  const read = async (guard: boolean) => {
    let out = "";
    const collect = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out += chunk.toString("utf8");
        callback();
      },
    });
    await pipeline(Readable.from([]), CSV.encoder([{ name: "=cmd" }, { name: "ok" }], { formulaGuard: guard }), collect);
    return out;
  };
  assert.is(await read(true), "'=cmd,ok\r\n");
  assert.is(await read(false), "=cmd,ok\r\n");
});

test("only string values are guarded: numbers, dates, ids and JSON cells keep their text", () => {
  const row = {
    text: "-5",
    number: -2.25,
    decimal: Decimal128.fromString("-1.5"),
    long: Long.fromNumber(-7),
    date: new Date("2001-02-03T04:05:06.007Z"),
    id: new ObjectId("5a9427648b0beebeb69579e7"),
    list: ["=A1"],
  };
  const columns = Object.keys(row);
  assert.equal(toRecord(row, columns), [
    "'-5",
    "-2.25",
    "-1.5",
    "-7",
    "2001-02-03T04:05:06.007Z",
    "5a9427648b0beebeb69579e7",
    '["=A1"]', // starts with [: a spreadsheet reads it as text
  ]);
  assert.equal(toRecord(row, columns, { formulaGuard: false })[0], "-5");
});

test("CSV_FORMULA_GUARD: on by default, false/0/off turn it off, anything else is refused", () => {
  assert.is(loadConfig({}).csv.formulaGuard, true);
  for (const off of ["false", "0", "off", "FALSE"]) assert.is(loadConfig({ CSV_FORMULA_GUARD: off }).csv.formulaGuard, false);
  assert.is(loadConfig({ CSV_FORMULA_GUARD: "true" }).csv.formulaGuard, true);
  assert.throws(() => loadConfig({ CSV_FORMULA_GUARD: "maybe" }), /CSV_FORMULA_GUARD/);
});

test.run();
