/**
 * The pieces under discovery and data-defined reports, without a database: superstruct → JSON
 * Schema, the parameter-schema compiler, and template rendering of absent values.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import {
  array,
  boolean,
  defaulted,
  enums,
  integer,
  literal,
  nullable,
  number,
  object,
  optional,
  set,
  string,
  union,
  create,
} from "superstruct";
import { toJsonSchema, UnsupportedStructError } from "../../src/reports/json-schema.ts";
import { choice, dateRange, nameList, numberRange, topN } from "../../src/reports/filters.ts";
import { compileDefinition } from "../../src/reports/data-defined/compile.ts";
import { definitionPolicy } from "../../src/reports/data-defined/document.ts";
import { loadConfig } from "../../src/config.ts";

const POLICY = definitionPolicy(loadConfig({}));

const test = suite("reports: schemas and templates");

test("plain structs become JSON Schema; optional and defaulted fields are not required", () => {
  const schema = toJsonSchema(
    object({
      a: string(),
      b: optional(number()),
      c: defaulted(integer(), 3),
      d: array(enums(["x", "y"])),
      e: literal("one"),
      f: optional(boolean()),
    }),
  );
  assert.equal(schema, {
    type: "object",
    properties: {
      a: { type: "string" },
      b: { type: "number" },
      c: { type: "integer" },
      d: { type: "array", items: { enum: ["x", "y"] } },
      e: { const: "one" },
      f: { type: "boolean" },
    },
    required: ["a", "d", "e"],
    additionalProperties: false,
  });
});

test("filter helpers carry their exact schema through optional()", () => {
  const schema = toJsonSchema(
    object({ r: optional(numberRange()), d: optional(dateRange()), l: optional(nameList()), top: topN(50), by: choice(["a", "b"], "a") }),
  );
  const p = schema.properties as Record<string, any>;
  assert.equal(Object.keys(p.r.properties), ["$gt", "$gte", "$lt", "$lte"]);
  assert.is(p.r.minProperties, 1);
  assert.is(p.d.properties.$gt.anyOf.length, 2);
  assert.is(p.l.properties.include.maxItems, 500);
  assert.equal(p.top, { type: "integer", minimum: 1, maximum: 50, description: "keep only the first N rows" });
  assert.equal(p.by, { type: "string", enum: ["a", "b"], default: "a" });
  assert.equal(schema.required, undefined);
});

test("a struct with no JSON Schema counterpart fails loudly instead of being under-described", () => {
  assert.throws(
    () => toJsonSchema(object({ s: set(string()) })),
    (e: unknown) => e instanceof UnsupportedStructError && /params\.s/.test(e.message),
  );
  assert.throws(
    () => toJsonSchema(object({ u: union([string(), number()]) })),
    (e: unknown) => e instanceof UnsupportedStructError && /params\.u: a union/.test(e.message),
  );
  // nullable keeps the inner type; it is described as that type (null is not offered).
  assert.equal(toJsonSchema(nullable(string())), { type: "string" });
});

const definition = (pipeline: unknown[], properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: "t",
  collection: "movies",
  description: "t",
  parameters: { type: "object", properties },
  pipeline,
  columns: [{ name: "a" }],
  ...extra,
});

test("absent optional values vanish with the objects, arrays and stages they empty", () => {
  const compiled = compileDefinition(
    definition(
      [
        { $match: { year: { $gte: { $param: "from" } }, $or: [{ genres: { $param: "genres" } }], title: { $exists: true } } },
        { $limit: { $param: "top" } },
        { $facet: { n: [{ $match: { year: { $param: "from" } } }, { $count: "n" }] } },
      ],
      { from: { type: "integer" }, genres: { type: "list" }, top: { type: "integer", minimum: 1 } },
      { sort: { a: 1 } },
    ),
    POLICY,
  );
  assert.ok(compiled.ok, JSON.stringify(!compiled.ok && compiled.errors));
  if (!compiled.ok) return;
  const report = compiled.report;
  assert.equal(report.pipeline(create({}, report.params)), [
    { $match: { title: { $exists: true } } },
    { $facet: { n: [{ $count: "n" }] } },
    { $sort: { a: 1 } },
    { $project: { _id: 0, a: 1 } },
  ]);
  assert.equal(report.pipeline(create({ from: 1950, genres: { include: ["Drama"], exclude: ["War"] }, top: 3 }, report.params)), [
    { $match: { year: { $gte: 1950 }, $or: [{ genres: { $in: ["Drama"], $nin: ["War"] } }], title: { $exists: true } } },
    // The default order goes before the top-N limit.
    { $sort: { a: 1 } },
    { $limit: 3 },
    { $facet: { n: [{ $match: { year: 1950 } }, { $count: "n" }] } },
    { $project: { _id: 0, a: 1 } },
  ]);
});

test("parameter schema errors name the property and the rule", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ n: { type: "integer", minimum: "1" } }, /parameters\.properties\.n\.minimum: must be a number/],
    [{ n: { type: "string", enum: [] } }, /parameters\.properties\.n\.enum: must be a non-empty list of string values/],
    [{ n: { type: "array", items: { type: "list" } } }, /parameters\.properties\.n\.items: must be \{"type"/],
    [{ n: { type: "range", of: "string" } }, /parameters\.properties\.n\.of: must be "number" or "date"/],
    [{ n: { type: "integer", default: "x" } }, /parameters\.properties\.n\.default: Expected an integer/],
    [{ N: { type: "integer" } }, /parameters\.properties\.N: parameter names are snake_case/],
  ];
  for (const [properties, reason] of cases) {
    const name = Object.keys(properties)[0];
    const compiled = compileDefinition(definition([{ $limit: { $param: name } }], properties), POLICY);
    assert.not.ok(compiled.ok);
    if (compiled.ok) continue;
    assert.ok(
      compiled.errors.some((e) => reason.test(e)),
      `${JSON.stringify(properties)}: ${JSON.stringify(compiled.errors)}`,
    );
  }
  const required = compileDefinition(
    {
      ...definition([{ $limit: 1 }]),
      parameters: { type: "object", properties: {}, required: ["ghost"] },
    },
    POLICY,
  );
  assert.ok(!required.ok && required.errors.some((e) => /"ghost" is not a declared property/.test(e)));
  const example = compileDefinition(
    definition([{ $limit: { $param: "n" } }], { n: { type: "integer" } }, { example: { n: "five" } }),
    POLICY,
  );
  assert.ok(!example.ok && example.errors.some((e) => /^example\.n: /.test(e)), JSON.stringify(example));
});

test.run();
