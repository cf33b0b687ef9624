/**
 * MongoDB unreachable for 10 s (a TCP proxy cuts every connection): the API and worker survive,
 * health endpoints tell the truth meanwhile, and afterwards nothing is lost: requests written
 * during the outage are processed once the change stream resumes or the sweep catches up.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { MongoClient } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { eventually, get, post } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";

const test = suite("connection-loss");
let mongo: TestMongo;
let proxy: TcpProxy;
let service: TestService;
let direct: MongoClient;

test.before(async () => {
  mongo = await startTestMongo("connection_loss");
  const target = new URL(mongo.uri);
  proxy = await startTcpProxy(target.hostname, Number(target.port));
  // The service reaches MongoDB only through the proxy; the test's own client goes direct.
  const viaProxy: TestMongo = { ...mongo, uri: `mongodb://127.0.0.1:${proxy.port}/` };
  service = await startTestService(viaProxy, { config: { leaseMs: 30_000 } });
  direct = await MongoClient.connect(mongo.uri);
  await loadMflix(direct.db(mongo.dbName), ["movies"]);
});

test.after(async () => {
  proxy?.restore();
  await service?.close();
  await direct?.close();
  await proxy?.close();
  await mongo?.stop();
});

test("API and worker ride out a 10 s outage and lose nothing", async () => {
  const before = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 2 });
  assert.is((await get(`${service.url}/v1/reports/${before.body.id}?wait=20`)).body.status, "completed");

  proxy.cut();
  const outageStarted = Date.now();
  // Written while the service cannot see the database: by an integration, straight into MongoDB.
  const requests = direct.db(mongo.dbName).collection("report_requests");
  const during = await requests.insertOne({ report_name: "top-movies-per-rating", params: { top: 3 }, status: "pending" });

  assert.is((await get(`${service.url}/healthz`)).status, 200, "alive");
  const ready = await get(`${service.url}/readyz`);
  assert.is(ready.status, 503, "not ready while the database is unreachable");
  assert.not.ok(
    /\d+\.\d+\.\d+\.\d+|:\d{2,5}\b|localhost/.test(JSON.stringify(ready.body)),
    `no host or port: ${JSON.stringify(ready.body)}`,
  );
  const refused = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 4 });
  assert.is(refused.status, 503, JSON.stringify(refused.body));
  assert.ok(refused.headers.get("content-type")?.startsWith("application/problem+json"));
  assert.ok(Number(refused.headers.get("retry-after")) > 0);

  const remaining = 10_000 - (Date.now() - outageStarted);
  if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
  proxy.restore();

  const processed = await eventually(
    async () => {
      const doc = await requests.findOne({ _id: during.insertedId });
      return doc?.status === "completed" ? doc : undefined;
    },
    60_000,
    200,
  );
  assert.is(processed.attempts, 1);
  await eventually(async () => ((await get(`${service.url}/readyz`)).status === 200 ? true : undefined), 30_000, 200);
  const after = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 5 });
  assert.is(after.status, 202);
  const done = await get(`${service.url}/v1/reports/${after.body.id}?wait=20`);
  assert.is(done.body.status, "completed", "change stream and worker back in business");
  assert.is(await requests.countDocuments({ "params.top": 4 }), 0, "the refused request was not half-stored");
});

test.run();
