/** Column declarations (type, precision) and the rounding rows carry. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { Decimal128 } from "mongodb";
import { object } from "superstruct";
import { columnProblems, defineReport } from "../../src/reports/define.ts";
import { roundTo, rowRounder } from "../../src/results/precision.ts";
import { roundedKey } from "../../src/reports/ranking.ts";

const test = suite("column precision");

test("roundTo: the float noise of an average goes, halves go up, huge and tiny numbers survive", () => {
  assert.is(roundTo(7.6499999999999995, 2), 7.65);
  assert.is(roundTo(0.1 + 0.2, 2), 0.3);
  assert.is(roundTo(2.5, 0), 3);
  assert.is(roundTo(-2.5, 0), -2);
  assert.is(roundTo(-0.001, 2), 0);
  assert.ok(Object.is(roundTo(-0.001, 2), 0), "no negative zero");
  assert.is(roundTo(1e21, 2), 1e21);
  assert.is(roundTo(1.7976931348623157e308, 2), 1.7976931348623157e308);
  assert.is(roundTo(1.23e-7, 2), 0);
  assert.is(roundTo(123.456, 1), 123.5);
  assert.ok(Number.isNaN(roundTo(Number.NaN, 2)));
});

test("roundTo computes what the pipeline's rank key computes, so rows sort by what they show", () => {
  const key = roundedKey("x", 2) as { $floor: { $add: [{ $multiply: [string, number] }, number] } };
  const scale = key.$floor.$add[0].$multiply[1];
  for (const value of [7.6499999999999995, 7.645, 1.005, 3.333333, 9.999, 0.125]) {
    assert.is(roundTo(value, 2), Math.floor(value * scale + key.$floor.$add[1]) / scale, String(value));
  }
});

test("rowRounder: rounds declared numeric columns in place, leaves the rest", () => {
  const round = rowRounder([{ name: "avg", type: "number", precision: 2 }, { name: "name" }, { name: "exact", precision: 1 }])!;
  const decimal = Decimal128.fromString("1.23456");
  const row: Record<string, unknown> = { avg: 7.6499999999999995, name: "7.6499999999999995", exact: decimal };
  round(row);
  assert.equal(row, { avg: 7.65, name: "7.6499999999999995", exact: decimal });
  const missing: Record<string, unknown> = { name: "x", avg: null };
  round(missing);
  assert.equal(missing, { name: "x", avg: null });
  assert.is(rowRounder([{ name: "a" }, { name: "b", type: "integer" }]), null);
});

test("columnProblems: types from the list, precision 0-15 on numbers only, no name twice", () => {
  assert.equal(
    columnProblems([
      { name: "a", type: "number", precision: 2 },
      { name: "b", type: "date" },
      { name: "c", precision: 0 },
    ]),
    [],
  );
  assert.equal(columnProblems([{ name: "a", type: "float" as "number" }]), [
    "columns[0]: type must be one of string, integer, number, date, boolean, json",
  ]);
  assert.equal(columnProblems([{ name: "a", type: "number", precision: 16 }]), [
    "columns[0]: precision must be a whole number of decimal places from 0 to 15",
  ]);
  assert.equal(columnProblems([{ name: "a", type: "string", precision: 2 }]), ["columns[0]: precision applies to type number only"]);
  assert.equal(columnProblems([{ name: "a" }, { name: "a" }]), ['columns[1]: "a" is declared twice']);
  assert.throws(
    () =>
      defineReport({
        name: "bad-columns",
        collection: "movies",
        description: "x",
        params: object({}),
        pipeline: () => [],
        columns: [{ name: "a", type: "integer", precision: 2 }],
      }),
    /precision applies to type number only/,
  );
});

test.run();
