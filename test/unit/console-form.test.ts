/**
 * The console's pure logic: the run form derived from a parameter schema (fields, example → state
 * → body), the client-side check against the same schema (paths as the server writes them), and
 * how result cells and charts are chosen.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { bodyFromState, fieldsOf, parameterOf, stateFromBody, validate, type JsonSchema, type RangeValue } from "../../src/console/form.ts";
import { chartPlan, chartSeries, describeParams, formatCell, isNumericColumn } from "../../src/console/cells.ts";

const test = suite("console form and cells");

// The shapes GET /v1/report-definitions publishes (src/reports/filters.ts), abridged.
const numberBound = { type: "number" };
const range = {
  type: "object",
  properties: { $gt: numberBound, $gte: numberBound, $lt: numberBound, $lte: numberBound },
  additionalProperties: false,
  minProperties: 1,
  allOf: [{ not: { required: ["$gt", "$gte"] } }, { not: { required: ["$lt", "$lte"] } }],
};
const dateBound = {
  anyOf: [
    { type: "integer", minimum: 0, maximum: 9999, description: "a year" },
    { type: "string", pattern: "^\\d{4}$|^\\d{4}-\\d{2}-\\d{2}$", description: "an ISO 8601 date" },
  ],
};
const dateRange = { ...range, properties: { $gt: dateBound, $gte: dateBound, $lt: dateBound, $lte: dateBound } };
const names = { type: "array", items: { type: "string", minLength: 1, maxLength: 200 }, minItems: 1, maxItems: 500 };
const schema: JsonSchema = {
  type: "object",
  properties: {
    comments: range,
    comment_date: dateRange,
    directors: { type: "object", properties: { include: names, exclude: names }, additionalProperties: false, minProperties: 1 },
    period: { type: "string", enum: ["month", "year"], default: "month" },
    top: { type: "integer", minimum: 1, maximum: 100000 },
    strict: { type: "boolean" },
  },
  additionalProperties: false,
};

test("each parameter gets the input of its shape", () => {
  const fields = fieldsOf(schema);
  assert.equal(
    fields.map((f) => [f.name, f.kind]),
    [
      ["comments", "range"],
      ["comment_date", "range"],
      ["directors", "list"],
      ["period", "enum"],
      ["top", "number"],
      ["strict", "boolean"],
    ],
  );
  assert.is((fields[0] as { dates: boolean }).dates, false);
  assert.is((fields[1] as { dates: boolean }).dates, true, "a bound that takes a string is a date");
});

test("the example fills the form, and the form gives the example back", () => {
  const fields = fieldsOf(schema);
  const example = { comments: { $gt: 5 }, comment_date: { $gt: "1990", $lt: "2021" }, directors: { exclude: ["A, B"] }, top: 10 };
  const state = stateFromBody(fields, example);
  assert.equal(state.comments, { lowOp: "$gt", low: "5", highOp: "$lte", high: "" });
  assert.is(state.period, "month", "an enum left out of the example shows its default");
  const body = bodyFromState("r", "json", fields, state);
  assert.equal(body, { report_name: "r", ...example, period: "month" });
  assert.equal(validate(schema, { ...example, period: "month" }), []);
});

test("operators and outputs reach the body; empty inputs are left out", () => {
  const fields = fieldsOf(schema);
  const state = stateFromBody(fields, {});
  state.comments = { lowOp: "$gte", low: " 3 ", highOp: "$lt", high: "9.5" } satisfies RangeValue;
  state.comment_date = { lowOp: "$gte", low: "1995", highOp: "$lt", high: "" } satisfies RangeValue;
  state.top = "";
  assert.equal(bodyFromState("r", "both", fields, state), {
    report_name: "r",
    comments: { $gte: 3, $lt: 9.5 },
    comment_date: { $gte: "1995" },
    period: "month",
    output: "both",
  });
});

test("validation names each bad value by the path the server uses", () => {
  const errors = validate(schema, {
    comments: { $gt: "five" },
    comment_date: { $gt: "19x" },
    directors: { include: [] },
    top: 0,
    nope: 1,
  });
  assert.equal(
    errors.map((e) => e.field),
    ["comments.$gt", "comment_date.$gt", "directors.include", "top", "nope"],
  );
  assert.match(errors.find((e) => e.field === "top")!.message, "at least 1");
  assert.equal(
    validate(schema, { top: 2.5 }).map((e) => e.message),
    ["must be a whole number"],
  );
  assert.equal(
    validate(schema, { comments: { $gt: 1, $gte: 2 } }).map((e) => [e.field, e.message]),
    [["comments", "give $gt or $gte, not both"]],
  );
  // A well-formed but impossible date passes here; the server's message is the one shown.
  assert.equal(validate(schema, { comment_date: { $gt: "2021-13-45" } }), []);
  assert.is(parameterOf("comment_date.$gt"), "comment_date");
  assert.is(parameterOf("directors.include[0]"), "directors");
});

test("cells: numbers grouped, lists joined, documents as JSON, dates shortened", () => {
  assert.is(formatCell(12345), "12,345");
  assert.is(formatCell(7.123456), "7.123");
  assert.is(formatCell(["Drama", "Comedy"]), "Drama, Comedy");
  assert.is(formatCell([{ a: 1 }]), '[{"a":1}]');
  assert.is(formatCell({ imdb: { rating: 8 } }), '{"imdb":{"rating":8}}');
  assert.is(formatCell("1995-06-01T00:00:00.000Z"), "1995-06-01");
  assert.is(formatCell(null), "");
  assert.ok(isNumericColumn([{ n: 1 }, { n: null }, { n: 2.5 }], "n"));
  assert.not.ok(isNumericColumn([{ n: 1 }, { n: "2" }], "n"));
});

test("charts: bars for labels and numbers, a line for periods, none without both", () => {
  assert.equal(chartPlan(["director", "comments", "movies"], [{ director: "A", comments: 3, movies: 1 }]), {
    kind: "bar",
    label: "director",
    values: ["comments", "movies"],
  });
  assert.equal(chartPlan(["period", "comments"], [{ period: "2012-03", comments: 3 }]), {
    kind: "line",
    label: "period",
    values: ["comments"],
  });
  assert.equal(chartPlan(["period", "movies"], [{ period: 1950, movies: 3 }]), { kind: "line", label: "period", values: ["movies"] });
  assert.equal(chartPlan(["movie_id", "title", "year", "comments"], [{ movie_id: "x", title: "T", year: 1999, comments: 2 }])?.values, [
    "comments",
  ]);
  assert.is(chartPlan(["name", "email"], [{ name: "a", email: "b" }]), null);
  assert.is(chartPlan(["n"], []), null);
});

test("charts: a long result shows the top bars and sums the rest of a count, says so, and keeps every period", () => {
  const rows = Array.from({ length: 480 }, (_, i) => ({ director: `D${i}`, comments: i, average_rating: i / 100 }));
  const plan = { kind: "bar" as const, label: "director", values: ["comments", "average_rating"] };
  const counts = chartSeries(plan, rows, "comments", 25);
  assert.is(counts.labels.length, 26);
  assert.is(counts.labels[0], "D479");
  assert.is(counts.labels[25], "Other (455 rows)");
  assert.is(counts.values[25], (454 * 455) / 2); // 0 + 1 + … + 454
  assert.match(counts.note!, /top 25 of 480 rows by comments; the last bar sums the other 455/);
  const averages = chartSeries(plan, rows, "average_rating", 25);
  assert.is(averages.labels.length, 25, "an average is not summed");
  assert.match(averages.note!, /the other 455 are left out/);
  const few = chartSeries(plan, rows.slice(0, 3), "comments", 25);
  assert.equal(few, { labels: ["D0", "D1", "D2"], values: [0, 1, 2] });
  const months = Array.from({ length: 100 }, (_, i) => ({ period: `${2100 - i}`, comments: i }));
  const line = chartSeries({ kind: "line", label: "period", values: ["comments"] }, months, "comments", 25);
  assert.is(line.labels.length, 100, "a time axis keeps every point");
  assert.is(line.labels[0], "2001");
  assert.is(line.note, undefined);
});

test("parameters in words: ranges with their signs, days for dates, lists, plain values", () => {
  assert.is(
    describeParams({
      released: { $gte: "1931-01-01T00:00:00.000Z", $lt: "1960-01-01T00:00:00.000Z" },
      rating: { $gt: 8 },
      directors: { include: ["A", "B"], exclude: ["C"] },
      genres: { exclude: ["Horror"] },
      top: 5,
      period: "decade",
    }),
    "released: ≥ 1931-01-01 and < 1960-01-01 · rating: > 8 · directors: include A, B; exclude C · genres: exclude Horror · top: 5 · period: decade",
  );
  assert.is(describeParams({}), "");
  assert.is(describeParams(undefined), "");
});

test.run();
