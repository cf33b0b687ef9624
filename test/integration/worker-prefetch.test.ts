/**
 * The worker's prefetch (WORKER_PREFETCH) against a real server: one batch claim takes the job for
 * the free slot and a few more that wait for it; a freed slot starts a waiting job without another
 * claim; a waiting request that is cancelled never starts; stop() hands the waiting ones back
 * without spending their attempt; and one that waits longer than a heartbeat for a slot is handed
 * back so another worker can run it; a finished job's slot takes the next one while its completion is written. The slot is held by `gated-rows`, which runs until the test
 * closes its gate, so "still running" does not depend on the machine's speed. Claims are counted
 * with the driver's command monitoring on the worker's own client.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId, type CommandStartedEvent } from "mongodb";
import { GATED_REPORTS, openGate, type Gate } from "../support/gate.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post, request } from "../support/http.ts";
import type { Config } from "../../src/config.ts";
import { openContext, type AppContext } from "../../src/context.ts";
import { createLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import { Worker } from "../../src/worker/worker.ts";

const test = suite("worker-prefetch");
let mongo: TestMongo;
let service: TestService;
/** Everything a test started, stopped after it whatever happened. */
let cleanups: (() => Promise<unknown>)[] = [];

test.before(async () => {
  mongo = await startTestMongo("worker_prefetch");
  service = await startTestService(mongo, { worker: false, config: { reportsDirs: [GATED_REPORTS], reuseWindowMs: 0 } });
  await service.context.database.db
    .collection("movies")
    .insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: i as never, title: `movie ${i}`, imdb: { rating: i % 10 } })));
});

test.after.each(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
  await service.context.database.requests.deleteMany({});
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

interface LoggedLine {
  event: string;
  request_id?: string;
  reason?: string;
}

function startedIds(logged: LoggedLine[]): string[] {
  return logged.filter((line) => line.event === "job.started").map((line) => String(line.request_id));
}

/**
 * A worker on a client of its own (as a worker process has), with command monitoring on it: its
 * log lines, and the claim queries it sent (the batch claim's read of candidates, the single claim).
 */
async function startWorker(overrides: Partial<Config>) {
  const logged: LoggedLine[] = [];
  /** Each claim query, with how many jobs the worker had started when it was sent. */
  const claims: { event: CommandStartedEvent; startedBefore: number }[] = [];
  const log = createLogger({}, "info", (text) => {
    for (const line of text.split("\n")) if (line.trim()) logged.push(JSON.parse(line) as LoggedLine);
  });
  const base = service.context.config;
  const uri = `${base.mongoUri}${base.mongoUri!.includes("?") ? "&" : "?"}monitorCommands=true`;
  // The sweep is pushed out of the way: every claim counted below is one the test caused.
  const config: Config = { ...base, mongoUri: uri, sweepMs: 600_000, leaseMs: 60_000, heartbeatMs: 20_000, ...overrides };
  const context: AppContext = await openContext({ component: "worker", config, log });
  cleanups.push(() => context.close());
  context.database.client.on("commandStarted", (event) => {
    const { command } = event;
    const pendingRead = event.commandName === "find" && command.find === "report_requests" && command.filter?.status === "pending";
    if (pendingRead || (event.commandName === "findAndModify" && command.query?.status === "pending")) {
      claims.push({ event, startedBefore: startedIds(logged).length });
    }
  });
  const worker = new Worker(context);
  cleanups.push(() => worker.stop());
  return { worker, logged, claims, start: () => worker.start() };
}

async function submit(body: Record<string, unknown>): Promise<ObjectId> {
  const submitted = await post(`${service.url}/v1/reports`, body);
  assert.is(submitted.status, 202, JSON.stringify(submitted.body));
  return new ObjectId(submitted.body.id as string);
}

/** One request holding a slot until its gate closes, then `quick` requests that finish at once. */
async function submitGatedThenQuick(quick: number): Promise<{ gate: Gate; gated: ObjectId; quick: ObjectId[] }> {
  const gate = await openGate(service.context.database.db);
  cleanups.push(() => gate.close());
  const gated = await submit({ report_name: "gated-rows", ...gate.params });
  const rest: ObjectId[] = [];
  for (let i = 0; i < quick; i++) rest.push(await submit({ report_name: "top-movies-per-rating", top: i + 1 }));
  return { gate, gated, quick: rest };
}

/** The request's representation once final (read with wait=, as a client does, until it is). */
function finished(id: ObjectId) {
  return eventually(async () => {
    const response = await get(`${service.url}/v1/reports/${id}?wait=30`);
    return ["pending", "running"].includes(response.body.status) ? undefined : response;
  }, 120_000);
}

/**
 * Lets the gated run end: once a row it let through shows in its progress (its change stream is
 * open and reading the gate), the gate closes and the run ends.
 */
async function endGated(gate: Gate, gated: ObjectId): Promise<void> {
  await gate.pass(1);
  await eventually(async () => (((await read(gated)).progress?.rows ?? 0) >= 1 ? true : undefined), 60_000);
  await gate.close();
}

const read = (id: ObjectId) => service.context.database.requests.findOne({ _id: id }) as Promise<RequestDocument>;

/** Waits until every one of `ids` is running under `owner`'s lease; if they never are, says what they were. */
async function heldBy(owner: string, ids: ObjectId[]): Promise<RequestDocument[]> {
  let seen: RequestDocument[] = [];
  try {
    return await eventually(async () => {
      seen = await Promise.all(ids.map(read));
      return seen.every((doc) => doc.status === "running" && doc.lease?.owner === owner) ? seen : undefined;
    }, 60_000);
  } catch (error) {
    const states = seen.map((doc) => ({ status: doc.status, owner: doc.lease?.owner ?? null, attempts: doc.attempts, error: doc.error }));
    throw new Error(`${(error as Error).message}: wanted all running under ${owner}, saw ${JSON.stringify(states)}`, { cause: error });
  }
}

test("one batch claim takes the free slot's job and the prefetched ones; freed slots start them without another claim", async () => {
  const { gate, gated, quick } = await submitGatedThenQuick(3);
  const { worker, logged, claims, start } = await startWorker({ workerConcurrency: 1, workerPrefetch: 3 });
  start();
  const docs = await heldBy(worker.owner, [gated, ...quick]);
  assert.is(claims.length, 1, "one claim query for four requests");
  assert.is(new Set(docs.map((doc) => doc.started_at?.getTime())).size, 1, "claimed together");
  await eventually(async () => (startedIds(logged).includes(String(gated)) ? true : undefined), 60_000);
  assert.equal(startedIds(logged), [String(gated)], "the prefetched requests wait for the slot");
  await endGated(gate, gated);
  for (const id of quick) {
    const done = await finished(id);
    assert.is(done.body.status, "completed", JSON.stringify(done.body));
    assert.is(done.body.attempts, 1);
  }
  // A full batch may mean more are waiting, so the worker looks once more, but only once all four ran.
  assert.equal(
    claims.slice(1).filter((claim) => claim.startedBefore < 4),
    [],
    "the freed slot took the prefetched requests: no claim query until they had all started",
  );
});

test("a finished job's slot starts the next one while its completion is being written", async () => {
  const quick = [
    await submit({ report_name: "top-movies-per-rating", top: 1 }),
    await submit({ report_name: "top-movies-per-rating", top: 2 }),
  ];
  const { logged, start } = await startWorker({ workerConcurrency: 1, workerPrefetch: 1 });
  start();
  for (const id of quick) assert.is((await finished(id)).body.status, "completed");
  const docs = await Promise.all(quick.map(read));
  assert.is(new Set(docs.map((doc) => doc.started_at?.getTime())).size, 1, "claimed together: the second waited for the slot");
  const at = (event: string, id: ObjectId) => logged.findIndex((line) => line.event === event && line.request_id === String(id));
  // job.completed is logged once the write has returned; the one slot took the second job before that.
  assert.ok(
    at("job.started", quick[1]) < at("job.completed", quick[0]),
    `the second job started before the first one's completion was written back: ${JSON.stringify(logged.map((line) => line.event))}`,
  );
});

test("a prefetched request cancelled before its slot frees never starts; the others still run", async () => {
  const { gate, gated, quick } = await submitGatedThenQuick(2);
  const { worker, logged, start } = await startWorker({ workerConcurrency: 1, workerPrefetch: 2 });
  start();
  await heldBy(worker.owner, [gated, ...quick]);
  const cancelled = await request(`${service.url}/v1/reports/${quick[0]}/cancel`, { method: "POST" });
  assert.is(cancelled.body.status, "cancelled");
  await eventually(
    async () => (logged.some((line) => line.event === "job.withdrawn" && line.request_id === String(quick[0])) ? true : undefined),
    30_000,
  );
  await endGated(gate, gated);
  const done = await finished(quick[1]);
  assert.is(done.body.status, "completed");
  assert.not.ok(startedIds(logged).includes(String(quick[0])), "the cancelled request never ran");
  assert.is((await read(quick[0])).status, "cancelled");
});

test("stop() hands every prefetched request back without spending its attempt", async () => {
  const { gated, quick } = await submitGatedThenQuick(2);
  const { worker, logged, start } = await startWorker({ workerConcurrency: 1, workerPrefetch: 2, shutdownGraceMs: 100 });
  start();
  await heldBy(worker.owner, [gated, ...quick]);
  await worker.stop();
  for (const id of quick) {
    const doc = await read(id);
    assert.is(doc.status, "pending");
    assert.is(doc.attempts, 0, "the release gave the attempt back");
    assert.is(doc.lease, null);
  }
  const released = logged.filter((line) => line.event === "job.released" && line.reason === "claimed while stopping");
  assert.equal(released.map((line) => String(line.request_id)).sort(), quick.map(String).sort());
});

test("a prefetched request that finds no slot within a heartbeat is handed back, and another worker runs it", async () => {
  const { gate, gated, quick } = await submitGatedThenQuick(2);
  // A heartbeat of 500 ms: the prefetched requests wait at most that long for the busy slot.
  const first = await startWorker({ workerConcurrency: 1, workerPrefetch: 2, leaseMs: 3_000, heartbeatMs: 500 });
  first.start();
  await heldBy(first.worker.owner, [gated, ...quick]);
  await eventually(async () => {
    const docs = await Promise.all(quick.map(read));
    return docs.every((doc) => doc.status === "pending" && doc.attempts === 0) ? true : undefined;
  }, 30_000);
  const released = first.logged.filter((line) => line.event === "job.released" && line.reason === "prefetched, no slot in time");
  assert.equal(released.map((line) => String(line.request_id)).sort(), quick.map(String).sort());
  const second = await startWorker({ workerConcurrency: 2, workerPrefetch: 0 });
  second.start();
  for (const id of quick) {
    const done = await finished(id);
    assert.is(done.body.status, "completed", JSON.stringify(done.body));
    assert.is(done.body.attempts, 1, "the hand-back spent no attempt");
  }
  // The first worker's slot was busy all along: the second ran them.
  assert.is((await read(gated)).status, "running");
  assert.not.ok(quick.some((id) => startedIds(first.logged).includes(String(id))));
  await gate.close();
});

test.run();
