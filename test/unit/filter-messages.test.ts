/**
 * What a person reads when a filter is wrong: a date typo says what is accepted, with examples
 * (it said "Expected a valid `Date` object, but received: Invalid Date"), and a range that can
 * match nothing is refused naming both bounds (it ran, to an empty result). The console's own
 * check of the same typo says the same (its hint joined the two options' descriptions).
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { dateRange, dateValue, numberRange } from "../../src/reports/filters.ts";
import { toJsonSchema } from "../../src/reports/json-schema.ts";
import { validateParams, ValidationError } from "../../src/reports/validation.ts";
import { validate } from "../../src/console/form.ts";
import { object, optional } from "superstruct";

const test = suite("filter messages");
const params = object({ released: optional(dateRange()), rating: optional(numberRange()), day: optional(dateValue()) });

function errorsOf(value: unknown): { field: string; message: string }[] {
  try {
    validateParams(value, params);
  } catch (error) {
    if (error instanceof ValidationError) return error.errors;
    throw error;
  }
  return [];
}

test("a date that is not one says what is accepted, with examples", () => {
  for (const typo of ["199O", "2021-02-30", "01/01/1990"]) {
    for (const value of [{ released: { $gt: typo } }, { day: typo }]) {
      const [error] = errorsOf(value);
      assert.ok(error, `${typo} refused`);
      assert.not.match(error.message, /Invalid Date|Date` object/);
      assert.match(error.message, /1990/);
      assert.match(error.message, /1995-06-01/);
    }
  }
});

test("a reversed or empty range is refused, naming both bounds", () => {
  const [dates] = errorsOf({ released: { $gt: 2000, $lt: 1990 } });
  assert.is(dates.field, "released");
  assert.match(dates.message, /matches nothing/);
  assert.match(dates.message, /\$gte 2001-01-01/);
  assert.match(dates.message, /\$lt 1990-01-01/);
  const [numbers] = errorsOf({ rating: { $gt: 8, $lt: 8 } });
  assert.match(numbers.message, /\$gt 8 .*\$lt 8/);
  // One value is a range that matches: both bounds inclusive.
  assert.equal(errorsOf({ rating: { $gte: 8, $lte: 8 } }), []);
  assert.equal(errorsOf({ released: { $gte: "1990", $lte: "1990" } }), []);
  assert.equal(errorsOf({ released: { $gt: "1990", $lt: "2021" }, rating: { $lt: 3 } }), []);
});

test("the console's check of a date typo says what is accepted (not two joined descriptions)", () => {
  const schema = toJsonSchema(params) as never;
  const [error] = validate(schema, { released: { $gt: "199O" } });
  assert.is(error.field, "released.$gt");
  assert.match(error.message, /^must be a year such as 1990, or an ISO 8601 date that exists such as "1995-06-01"/);
});

test.run();
