/**
 * Access control (on by configuration): API keys stored as hashes, each with scopes (read, submit,
 * admin) checked against the route's own scope; requests owned by the key that made them; a per-key
 * rate limit that holds across API processes.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { ConfigError, loadConfig, type Config } from "../../src/config.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post, request } from "../support/http.ts";
import { spawnApi } from "../support/processes.ts";
import { MongoClient } from "mongodb";
import { limit } from "../../src/api/rate-limit.ts";
import { ProblemError } from "../../src/api/problems.ts";

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

const test = suite("access");
let mongo: TestMongo;
let service: TestService;

test.before(async () => {
  mongo = await startTestMongo("access");
  const apiKeys = parseApiKeys(
    [
      `alice:${sha256("alice-secret")}`,
      `bob:${sha256("bob-secret")}`,
      `busy:${sha256("busy-secret")}`,
      `carol:${sha256("carol-secret")}:read+submit`,
      `reader:${sha256("reader-secret")}:read`,
      `ops:${sha256("ops-secret")}:admin`,
    ].join(","),
  );
  service = await startTestService(mongo, { worker: false, config: { apiKeys, rateLimitPerMinute: 5, authFailuresPerMinute: 4 } });
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

test("without a key, or with a wrong one: 401 with WWW-Authenticate", async () => {
  const none = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" });
  assert.is(none.status, 401);
  assert.is(none.body.type, "https://mongo-reports.dev/problems/unauthorized");
  assert.ok(none.headers.get("www-authenticate")?.startsWith("Bearer"));
  const wrong = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" }, auth("alice-secret-"));
  assert.is(wrong.status, 401);
  assert.is(await service.context.database.requests.countDocuments({}), 0);
});

test("a request belongs to the key that made it: another key gets 404", async () => {
  const mine = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 1 }, auth("alice-secret"));
  assert.is(mine.status, 202);
  assert.is((await get(`${service.url}/v1/reports/${mine.body.id}`, auth("alice-secret"))).status, 200);
  // X-API-Key works as well as a bearer token.
  assert.is((await get(`${service.url}/v1/reports/${mine.body.id}`, { "X-API-Key": "alice-secret" })).status, 200);
  assert.is((await get(`${service.url}/v1/reports/${mine.body.id}`, auth("bob-secret"))).status, 404);
  assert.is(
    (await request(`${service.url}/v1/reports/${mine.body.id}/cancel`, { method: "POST", headers: auth("bob-secret") })).status,
    404,
  );
  assert.is((await request(`${service.url}/v1/reports/${mine.body.id}`, { method: "DELETE", headers: auth("bob-secret") })).status, 404);
  assert.is(
    (await get(`${service.url}/v1/reports/${mine.body.id}`, auth("alice-secret"))).body.status,
    "pending",
    "bob could neither cancel nor delete it",
  );
  const stored = await service.context.database.requests.findOne({});
  assert.is(stored!.owner, "alice");
});

test("discovery and health stay open", async () => {
  assert.is((await get(`${service.url}/v1/report-definitions`)).status, 200);
  assert.is((await get(`${service.url}/healthz`)).status, 200);
});

test("rate limit per key: 429 with Retry-After past the limit; other keys unaffected", async () => {
  const statuses = [];
  for (let i = 0; i < 6; i++) statuses.push((await get(`${service.url}/v1/reports/${"c".repeat(24)}`, auth("busy-secret"))).status);
  assert.equal(statuses, [404, 404, 404, 404, 404, 429]);
  const limited = await get(`${service.url}/v1/reports/${"c".repeat(24)}`, auth("busy-secret"));
  assert.is(limited.status, 429);
  assert.is(limited.body.type, "https://mongo-reports.dev/problems/rate-limited");
  assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  assert.is((await get(`${service.url}/v1/reports/${"c".repeat(24)}`, auth("bob-secret"))).status, 404);
});

test("scopes: a read-only key reads but gets 403 naming the scope to submit; an admin key sees and removes anyone's request", async () => {
  const refused = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating" }, auth("reader-secret"));
  assert.is(refused.status, 403);
  assert.is(refused.body.type, "https://mongo-reports.dev/problems/forbidden");
  assert.is(refused.body.scope, "submit");
  assert.ok(refused.body.detail.includes("submit"), refused.body.detail);
  const carols = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 9 }, auth("carol-secret"));
  assert.is(carols.status, 202);
  const id = carols.body.id;
  assert.is((await get(`${service.url}/v1/reports/${id}`, auth("reader-secret"))).status, 404, "read is for one's own requests");
  assert.is((await get(`${service.url}/v1/reports/${id}`, auth("ops-secret"))).status, 200, "admin reads every request");
  const cancel = await request(`${service.url}/v1/reports/${id}/cancel`, { method: "POST", headers: auth("reader-secret") });
  assert.is(cancel.status, 403, "cancelling needs submit");
  const listed = await get(`${service.url}/v1/reports`, auth("ops-secret"));
  assert.ok(listed.body.items.some((item: { id: string }) => item.id === id));
  assert.is((await request(`${service.url}/v1/reports/${id}`, { method: "DELETE", headers: auth("ops-secret") })).status, 204);
  assert.is((await get(`${service.url}/v1/reports/${id}`, auth("carol-secret"))).status, 404, "removed");
});

test("the rate limit holds for the deployment: two API processes sharing one key allow it once", async () => {
  const env = { MONGODB_DB: mongo.dbName, API_KEYS: `shared:${sha256("shared-secret")}`, RATE_LIMIT_PER_MINUTE: "4" };
  const apis: Awaited<ReturnType<typeof spawnApi>>[] = [];
  try {
    apis.push(await spawnApi(mongo, env), await spawnApi(mongo, env));
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const api = apis[i % 2];
      statuses.push((await get(`${api.url}/v1/reports/${"d".repeat(24)}`, auth("shared-secret"))).status);
    }
    // Per process, each would have allowed 4: 8 answers of 404.
    assert.equal(statuses, [404, 404, 404, 404, 429, 429, 429, 429]);
  } finally {
    await Promise.all(apis.map((api) => api.stop()));
  }
});

/** A keys-off service (each client address is its own rate-limit client) on a database of its own. */
async function startOpenService(config: Partial<Config>) {
  return startTestService(mongo, { worker: false, config: { dbName: `${mongo.dbName}_open_${++openServices}`, ...config } });
}
let openServices = 0;

test("X-Forwarded-For is ignored unless TRUST_PROXY is set: a new header per call does not escape the limit", async () => {
  const open = await startOpenService({ rateLimitPerMinute: 3 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const spoofed = { "X-Forwarded-For": `203.0.113.${i + 1}` };
      statuses.push((await get(`${open.url}/v1/reports/${"e".repeat(24)}`, spoofed)).status);
    }
    assert.equal(statuses, [404, 404, 404, 429, 429, 429]);
  } finally {
    await open.close();
  }
});

test("TRUST_PROXY=1: the address the one proxy appended is the client, entries before it are not", async () => {
  const open = await startOpenService({ rateLimitPerMinute: 2, trustProxy: 1 });
  try {
    const via = (client: string, forged = "198.51.100.7") => ({ "X-Forwarded-For": `${forged}, ${client}` });
    const statuses: number[] = [];
    // One client forging a new first entry each time: still one client.
    for (let i = 0; i < 3; i++)
      statuses.push((await get(`${open.url}/v1/reports/${"e".repeat(24)}`, via("192.0.2.1", `10.0.0.${i}`))).status);
    // Another client behind the same proxy has its own counter.
    statuses.push((await get(`${open.url}/v1/reports/${"e".repeat(24)}`, via("192.0.2.2"))).status);
    assert.equal(statuses, [404, 404, 429, 404]);
    assert.is(loadConfig({ TRUST_PROXY: "2" }).trustProxy, 2);
    assert.is(loadConfig({}).trustProxy, 0);
  } finally {
    await open.close();
  }
});

test("failed authentication is throttled per client address: past the limit, even the right key gets 429", async () => {
  // Its own service: the failures count against 127.0.0.1, which the other tests share.
  const guarded = await startOpenService({ apiKeys: parseApiKeys(`eve:${sha256("eve-secret")}`), authFailuresPerMinute: 3 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(`${guarded.url}/v1/reports`, auth(`guess-${i}`))).status);
    assert.equal(statuses, [401, 401, 401, 429, 429]);
    const right = await get(`${guarded.url}/v1/reports`, auth("eve-secret"));
    assert.is(right.status, 429, "a right guess past the limit is not confirmed");
    assert.is(right.body.type, "https://mongo-reports.dev/problems/rate-limited");
    assert.ok(Number(right.headers.get("retry-after")) >= 1);
  } finally {
    await guarded.close();
  }
});

test("past the limit, calls are refused in memory: the counter in MongoDB stops moving", async () => {
  const open = await startOpenService({ rateLimitPerMinute: 3 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(`${open.url}/v1/reports/${"f".repeat(24)}`)).status);
    assert.equal(statuses, [404, 404, 404, 429, 429, 429, 429, 429]);
    const counters = await open.context.database.db.collection("api_rate_limits").find({}).toArray();
    assert.equal(
      counters.map((c) => c.points),
      [3],
      "one counter, written by the three allowed calls only",
    );
  } finally {
    await open.close();
  }
});

test("public routes have their own limit per client address", async () => {
  const open = await startOpenService({ rateLimitPerMinute: 100, publicRateLimitPerMinute: 3 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(`${open.url}/v1/report-definitions`)).status);
    assert.equal(statuses, [200, 200, 200, 429, 429]);
    assert.is((await get(`${open.url}/v1/reports/${"f".repeat(24)}`)).status, 404, "the keyed routes' limit is apart");
  } finally {
    await open.close();
  }
});

test("with the primary away, each API process keeps limiting in memory", async () => {
  // A real driver whose server does not answer: every counter update fails or times out.
  const client = new MongoClient("mongodb://127.0.0.1:9/?directConnection=true", { serverSelectionTimeoutMS: 200 });
  try {
    const away = limit({ client, db: client.db("nowhere") }, { prefix: "away", perMinute: 2, storeTimeoutMs: 100, what: "the limit" });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await away.consume("ip:192.0.2.9").then(
          () => "allowed",
          (error: unknown) => (error instanceof ProblemError ? error.problem.slug : String(error)),
        ),
      );
    }
    assert.equal(outcomes, ["allowed", "allowed", "rate-limited", "rate-limited"]);
  } finally {
    await client.close();
  }
});

test("API_KEYS entries take scopes; an unknown scope fails the start", () => {
  const config = loadConfig({ API_KEYS: `a:${sha256("a")}:read,b:${sha256("b")}:read+submit+admin,c:${sha256("c")}` });
  assert.equal(config.apiKeys.get("a")!.scopes, ["read"]);
  assert.equal(config.apiKeys.get("b")!.scopes, ["read", "submit", "admin"]);
  assert.equal(config.apiKeys.get("c")!.scopes, ["read", "submit"]);
  assert.throws(
    () => loadConfig({ API_KEYS: `a:${sha256("a")}:read+write` }),
    (error: unknown) => error instanceof ConfigError && /API_KEYS.*write/.test(error.message),
  );
  assert.throws(
    () => loadConfig({ API_KEYS: `a:${sha256("a")}:` }),
    (error: unknown) => error instanceof ConfigError,
  );
});

test("API_KEYS must hold hashes, not keys", () => {
  assert.throws(
    () => loadConfig({ API_KEYS: "alice:plaintext" }),
    (error: unknown) => error instanceof ConfigError && /API_KEYS/.test(error.message),
  );
  const config = loadConfig({ API_KEYS: `alice:${sha256("k")}` });
  assert.equal(config.apiKeys.get("alice"), { hash: sha256("k"), scopes: ["read", "submit"] });
});

test.run();
