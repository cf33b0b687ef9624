/** The CSV formula guard (OWASP CSV injection): which cells are neutralised, and which never are. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { Decimal128, Long, ObjectId } from "mongodb";
import { neutraliseFormula, toRecord } from "../../src/results/csv.ts";
import { loadConfig } from "../../src/config.ts";

const test = suite("csv formula guard");

test("text starting with = + - @ tab or CR gets a leading single quote; other text is untouched", () => {
  for (const text of ['=HYPERLINK("http://example.com","x")', "+1 555 0100", "-2+3", "@SUM(A1:A2)", "\tx", "\rx"]) {
    assert.is(neutraliseFormula(text), `'${text}`);
  }
  for (const text of ["", "plain", " =not first", "1+1", "'already", "\nnewline first", "＝full-width"]) {
    assert.is(neutraliseFormula(text), text);
  }
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
