/** Index declarations: checked when a report is defined or compiled, gathered once per collection and key. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { object } from "superstruct";
import { defineReport, type ReportDefinition } from "../../src/reports/define.ts";
import { createIndexCommand, requiredIndexes } from "../../src/reports/data-indexes.ts";
import { compileDefinition } from "../../src/reports/data-defined/compile.ts";
import { definitionPolicy } from "../../src/reports/data-defined/document.ts";
import { loadConfig } from "../../src/config.ts";

const POLICY = definitionPolicy(loadConfig({}));

const test = suite("data indexes (declarations)");

const report = (name: string, indexes: ReportDefinition<any>["indexes"]): ReportDefinition<any> => ({
  name,
  collection: "comments",
  description: name,
  params: object({}),
  pipeline: () => [],
  columns: [{ name: "x" }],
  indexes,
});

test("the same collection and key declared by several reports is one index listing them all; key order matters", () => {
  const required = requiredIndexes([
    report("a", [{ key: { date: 1, email: 1 } }, { collection: "users", key: { email: 1 } }]),
    report("b", [{ collection: "comments", key: { date: 1, email: 1 } }]),
    report("c", [{ key: { email: 1, date: 1 } }]),
    report("d", undefined),
  ]);
  assert.equal(required, [
    { collection: "comments", key: { date: 1, email: 1 }, reports: ["a", "b"] },
    { collection: "comments", key: { email: 1, date: 1 }, reports: ["c"] },
    { collection: "users", key: { email: 1 }, reports: ["a"] },
  ]);
  assert.is(createIndexCommand(required[0]), 'db.getCollection("comments").createIndex({"date":1,"email":1})');
});

test("defineReport refuses an empty key, an operator as a field, a direction other than 1/-1", () => {
  assert.throws(() => defineReport(report("e", [{ key: {} }])), /names no field/);
  assert.throws(() => defineReport(report("f", [{ key: { $where: 1 } }])), /not a field name/);
  assert.throws(() => defineReport(report("g", [{ key: { date: "text" as any } }])), /1 or -1/);
});

test("a data-defined report may index its own collection or one in lookups, nothing else", () => {
  const base = {
    name: "theaters-in-zip",
    collection: "theaters",
    description: "d",
    parameters: { type: "object", properties: {} },
    pipeline: [{ $project: { _id: 0, theaterId: 1 } }],
    columns: [{ name: "theaterId" }],
    lookups: ["movies"],
  };
  const ok = compileDefinition(
    {
      ...base,
      indexes: [{ key: { "location.address.zipcode": 1 } }, { collection: "movies", key: { year: -1 } }],
    },
    POLICY,
  );
  assert.ok(ok.ok && ok.report.indexes?.length === 2);
  const elsewhere = compileDefinition({ ...base, indexes: [{ collection: "users", key: { email: 1 } }] }, POLICY);
  assert.ok(!elsewhere.ok && elsewhere.errors.some((e) => e.includes("neither the report's collection nor in lookups")));
  const badKey = compileDefinition({ ...base, indexes: [{ key: {} }] }, POLICY);
  assert.ok(!badKey.ok && badKey.errors.some((e) => e.includes("names no field")));
});

test.run();
