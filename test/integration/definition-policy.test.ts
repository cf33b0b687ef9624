/**
 * What report definitions may reach: collections from DEFINITION_COLLECTIONS only, no field named in
 * HIDDEN_FIELDS (and such fields never leave in rows even when a whole document passes through), and
 * definition versions, retired ones too, only with the read scope. Against the real service with
 * access control on.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post, request } from "../support/http.ts";

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
const OPS = auth("ops-secret");
const READER = auth("reader-secret");
const ALICE = auth("alice-secret");

const test = suite("definition policy");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("definition-policy");
  service = await startTestService(mongo, {
    config: {
      catalogueReloadMs: 0,
      reuseWindowMs: 0,
      apiKeys: parseApiKeys(
        [`alice:${sha256("alice-secret")}`, `reader:${sha256("reader-secret")}:read`, `ops:${sha256("ops-secret")}:admin`].join(","),
      ),
    },
  });
  const db = service.context.database.db;
  await db.collection("users").insertOne({ name: "Ned", email: "ned@example.com", password: "$2b$12$secret-hash" });
  // A data collection that (carelessly) holds a password too.
  await db.collection("movies").insertMany([
    { title: "A", year: 2001, password: "movie-secret", crew: { password: "crew-secret", lead: "X" } },
    { title: "B", year: 2002 },
  ]);
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const definition = (overrides: Record<string, unknown> = {}) => ({
  collection: "movies",
  description: "Movies as they are.",
  parameters: { type: "object", properties: {} },
  pipeline: [{ $match: {} }],
  columns: [{ name: "title" }],
  ...overrides,
});
const put = (name: string, body: unknown) =>
  request(`${service.url}/v1/report-definitions/${name}`, { method: "PUT", json: body, headers: OPS });

test("a definition over a collection outside DEFINITION_COLLECTIONS is refused, even for an admin key", async () => {
  const refused = await put("user-list", definition({ collection: "users", columns: [{ name: "name" }, { name: "email" }] }));
  assert.is(refused.status, 422, JSON.stringify(refused.body));
  assert.ok(
    refused.body.errors.some((e: string) => e.includes("DEFINITION_COLLECTIONS")),
    JSON.stringify(refused.body.errors),
  );
  const joined = await put(
    "movies-with-users",
    definition({ lookups: ["users"], pipeline: [{ $lookup: { from: "users", localField: "title", foreignField: "name", as: "u" } }] }),
  );
  assert.is(joined.status, 422, "nor joined");
  const checked = await post(
    `${service.url}/v1/report-definition-checks`,
    { name: "user-list", ...definition({ collection: "users" }) },
    READER,
  );
  assert.is(checked.status, 422, "a check answers as a save would");
});

test("a definition naming a hidden field (column, key or $path) is refused", async () => {
  for (const [what, body] of [
    ["a column", definition({ columns: [{ name: "title" }, { name: "password" }] })],
    ["a projection key", definition({ pipeline: [{ $project: { title: 1, password: 1 } }] })],
    ["a field path", definition({ pipeline: [{ $addFields: { secret: "$crew.password" } }], columns: [{ name: "secret" }] })],
  ] as const) {
    const refused = await put("leaky", body);
    assert.is(refused.status, 422, what);
    assert.ok(
      refused.body.errors.some((e: string) => e.includes("hidden field")),
      `${what}: ${JSON.stringify(refused.body.errors)}`,
    );
  }
});

test("a hidden field never leaves in rows, even inside a whole document a definition passes through", async () => {
  const saved = await put(
    "whole-movies",
    definition({ pipeline: [{ $sort: { year: 1 } }, { $addFields: { doc: "$$ROOT" } }], columns: [{ name: "title" }, { name: "doc" }] }),
  );
  assert.ok([200, 201].includes(saved.status), JSON.stringify(saved.body));
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "whole-movies" }, ALICE);
  const done = await eventually(async () => {
    const status = await get(`${service.url}/v1/reports/${submitted.body.id}?wait=5`, ALICE);
    return status.body.status === "completed" || status.body.status === "error" ? status.body : undefined;
  });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  const text = JSON.stringify(done.rows);
  assert.not.ok(/secret|password/.test(text), text);
  assert.is(done.rows[0].doc.crew.lead, "X", "the rest of the document is there");
});

test("definition versions, retired ones too, need the read scope", async () => {
  const saved = await put("versioned", definition());
  assert.ok([200, 201].includes(saved.status), JSON.stringify(saved.body));
  assert.is((await request(`${service.url}/v1/report-definitions/versioned`, { method: "DELETE", headers: OPS })).status, 204);
  for (const path of ["/versions", "/versions/1"]) {
    const anonymous = await get(`${service.url}/v1/report-definitions/versioned${path}`);
    assert.is(anonymous.status, 401, `anonymous ${path}`);
    const reader = await get(`${service.url}/v1/report-definitions/versioned${path}`, READER);
    assert.is(reader.status, 200, `read scope ${path}`);
  }
});

test.run();
