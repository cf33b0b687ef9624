/**
 * Cancelling a report whose aggregation is still inside its initial `aggregate` command (a blocking
 * stage: no cursor exists yet to kill). The worker must drop the command's connection at once;
 * MongoDB interrupts an operation whose client disconnected, so the server stops working for a
 * request nobody wants. Observed on the wire: the worker reaches the database through a TCP proxy
 * that records what each connection carried and when it closed.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { MongoClient } from "mongodb";
import { object } from "superstruct";
import { defineReport } from "../../src/reports/define.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { startTcpProxy, type ProxiedClient, type TcpProxy } from "../support/tcp-proxy.ts";
import { eventually, get, post, request } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";

const test = suite("cancel");
let mongo: TestMongo;
let proxy: TcpProxy;
let service: TestService;
let direct: MongoClient;

/** A name only this report's aggregate command carries, to find its connection on the wire. */
const MARKER = "cancel_test_same_year_movies";

/** Every movie joined with every movie of its year, then one total: all the work happens before the first batch. */
const blockingReport = defineReport({
  name: "blocking-self-join",
  collection: "movies",
  description: "A self-join by year grouped into one row: blocks inside the initial aggregate command.",
  params: object({}),
  pipeline: () => [
    { $lookup: { from: "movies", let: { y: "$year" }, pipeline: [{ $match: { $expr: { $eq: ["$year", "$$y"] } } }], as: MARKER } },
    { $group: { _id: null, pairs: { $sum: { $size: `$${MARKER}` } } } },
  ],
  columns: [{ name: "pairs" }],
});

test.before(async () => {
  mongo = await startTestMongo("cancel");
  const target = new URL(mongo.uri);
  proxy = await startTcpProxy(target.hostname, Number(target.port));
  direct = await MongoClient.connect(mongo.uri);
  await loadMflix(direct.db(mongo.dbName), ["movies"]);
  // The service reaches MongoDB only through the proxy. A long lease: the cancel must arrive by
  // its change event, not by a failed heartbeat.
  service = await startTestService(
    { ...mongo, uri: `mongodb://127.0.0.1:${proxy.port}/` },
    { config: { leaseMs: 30_000, catalogueReloadMs: 0 } },
  );
  service.context.catalogue.add(blockingReport);
});

test.after(async () => {
  await service?.close();
  await direct?.close();
  await proxy?.close();
  await mongo?.stop();
});

const carriesMarker = (client: ProxiedClient) => client.sent.includes(Buffer.from(MARKER));

test("cancelling a report blocked in its initial aggregate closes that command's connection before any reply", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "blocking-self-join" });
  assert.is(submitted.status, 202);
  const carrier = await eventually(async () => proxy.clients.find(carriesMarker), 20_000, 10);
  const repliesBefore = carrier.received;
  await new Promise((resolve) => setTimeout(resolve, 200)); // the server is now inside the command
  assert.not.ok(carrier.closed, "the command is still running when the cancel comes");
  const cancelled = await request(`${service.url}/v1/reports/${submitted.body.id}/cancel`, { method: "POST" });
  assert.is(cancelled.status, 200);
  await eventually(async () => (carrier.closed ? true : undefined), 5_000, 10);
  assert.is(carrier.received, repliesBefore, "closed while the server had not answered: the command was abandoned, not finished");
  const status = await get(`${service.url}/v1/reports/${submitted.body.id}`);
  assert.is(status.body.status, "cancelled");
  // The worker carries on: another request runs to completion afterwards.
  const next = await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 3 });
  const done = await get(`${service.url}/v1/reports/${next.body.id}?wait=30`);
  assert.is(done.body.status, "completed");
});

test.run();
