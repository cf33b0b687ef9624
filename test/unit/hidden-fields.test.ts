/** HIDDEN_FIELDS: rows lose the fields at any depth; a definition that names one is refused. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { loadConfig } from "../../src/config.ts";
import { hiddenFieldProblems } from "../../src/reports/data-defined/hidden-fields.ts";
import { withoutHiddenFields } from "../../src/results/hidden-fields.ts";

const test = suite("hidden fields");
const HIDDEN = new Set(["password"]);

test("rows lose hidden fields at any depth, in objects and arrays; BSON values and dates are left whole", () => {
  const id = new ObjectId();
  const at = new Date(0);
  const row = { _id: id, at, password: "x", user: { password: "y", name: "n" }, list: [{ password: "z", k: 1 }, 2] };
  assert.equal(withoutHiddenFields(row, HIDDEN), { _id: id, at, user: { name: "n" }, list: [{ k: 1 }, 2] });
  assert.is(row.password, "x", "the row read from the cursor is not changed");
});

test("a row without hidden fields is returned as it is (no copy per row)", () => {
  const row = { a: 1, nested: { b: [1, { c: 2 }] } };
  assert.is(withoutHiddenFields(row, HIDDEN), row);
  assert.is(withoutHiddenFields(row, new Set()), row);
});

test("a definition naming a hidden field: as a key, in a $path (with $$ROOT too), as a column", () => {
  const policy = { hiddenFields: ["password"] };
  assert.equal(hiddenFieldProblems([{ $project: { title: 1 } }, { $match: { year: 1 } }], policy, "pipeline"), []);
  assert.is(hiddenFieldProblems([{ $project: { "user.password": 1 } }], policy, "pipeline").length, 1);
  assert.is(hiddenFieldProblems([{ $addFields: { x: "$$ROOT.password" } }], policy, "pipeline").length, 1);
  assert.is(hiddenFieldProblems([{ name: "password" }], policy, "columns").length, 1);
  assert.equal(hiddenFieldProblems([{ name: "title" }], policy, "columns"), []);
});

test("HIDDEN_FIELDS and DEFINITION_COLLECTIONS: defaults, lists, empty", () => {
  assert.equal(loadConfig({}).hiddenFields, ["password"]);
  assert.equal(loadConfig({}).definitionCollections, ["movies", "comments", "theaters"]);
  assert.equal(loadConfig({ HIDDEN_FIELDS: "password, ssn ,token" }).hiddenFields, ["password", "ssn", "token"]);
  assert.equal(loadConfig({ DEFINITION_COLLECTIONS: "movies" }).definitionCollections, ["movies"]);
});

test.run();
