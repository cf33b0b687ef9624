/**
 * The process's change stream (src/requests/events.ts) against a real server: what reaches
 * listeners (a job's insert, claim and final status; never a heartbeat), and what the service does
 * with it (a `wait=` poll wakes on the change, a running job stops on its `cancelled` event, the
 * stream comes back after the collection is dropped).
 */
import { openGate } from "../support/gate.ts";
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { startTestService } from "../support/service.ts";
import { useWorkerlessService } from "../support/workerless-service.ts";
import { eventually, get, post, request } from "../support/http.ts";
import { RequestEvents, type RequestChange, type StreamFilter } from "../../src/requests/events.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { RequestErrorCode, RequestStatus } from "../../src/requests/status.ts";
import { as, namedKeys } from "../support/keys.ts";
import { WORKER_STATUSES } from "../../src/worker/worker.ts";

/** Takes one claimable request the way the worker looks: an expired lease first, else the oldest due pending one. */
async function claimOne(store: RequestStore, owner: string, leaseMs: number, now = new Date()) {
  return (await store.claimExpired(owner, leaseMs, now)) ?? (await store.claimPending(owner, leaseMs, now));
}

const test = suite("request-events");
// A lease of a minute renewed every 20 s, progress written every 10 minutes: within a test, only
// the change stream can tell a running job it was cancelled (a fenced renewal or progress write
// would find the lease gone). No worker unless a test starts one.
const env = useWorkerlessService(test, {
  label: "request_events",
  movies: 1000,
  config: { rowsPerChunk: 20, leaseMs: 60_000, heartbeatMs: 20_000, progressIntervalMs: 600_000 },
});

/** A second RequestEvents of our own on the service's collection, recording what it delivers. */
async function listen(filter?: StreamFilter): Promise<{ events: RequestEvents; seen: RequestChange[] }> {
  const events = new RequestEvents(env.service.context.database.requests, silentLogger, filter);
  const seen: RequestChange[] = [];
  events.subscribe({ change: (event) => seen.push(event) });
  await events.start();
  return { events, seen };
}

test("a job's life delivers its insert, its claim and its final status; heartbeats deliver nothing", async () => {
  const { events, seen } = await listen();
  const store = new RequestStore(env.service.context.database.requests, env.service.context.store.seal);
  const submitted = await store.submit({ report_name: "top-movies-per-rating", params: {}, output: "json" });
  const claimed = await claimOne(store, "test-owner", 60_000);
  assert.ok(claimed && claimed._id.equals(submitted._id));
  const claim = { id: claimed._id, owner: "test-owner", attempt: claimed.attempts };
  for (let i = 0; i < 5; i++) assert.ok(await store.renew(claim, 60_000), "heartbeat");
  assert.ok(await store.complete(claim, { row_count: 0, columns: [], attempt: claim.attempt } as any));
  await eventually(async () => (seen.length >= 3 ? true : undefined), 5_000);
  // A marker after everything: once it arrives, anything the heartbeats caused would have too.
  const marker = await store.submit({ report_name: "top-movies-per-rating", params: { top: 2 }, output: "json" });
  await eventually(async () => (seen.some((event) => event.id.equals(marker._id)) ? true : undefined), 5_000);
  const forJob = seen.filter((event) => event.id.equals(submitted._id));
  assert.equal(
    forJob.map((event) => [event.operation, event.status]),
    [
      ["insert", "pending"],
      ["update", "running"],
      ["update", "completed"],
    ],
  );
  assert.is(events.delivered, 4, "three for the job, one for the marker");
  await events.close();
  await env.service.context.database.requests.deleteMany({});
});

test("a worker process's stream hears requests arrive, get claimed and get cancelled, not finish", async () => {
  const { events, seen } = await listen({ statuses: WORKER_STATUSES });
  const store = new RequestStore(env.service.context.database.requests, env.service.context.store.seal);
  const done = await store.submit({ report_name: "top-movies-per-rating", params: {}, output: "json" });
  const claimedDone = await claimOne(store, "test-owner", 60_000);
  assert.ok(
    await store.complete({ id: claimedDone!._id, owner: "test-owner", attempt: claimedDone!.attempts }, {
      row_count: 0,
      columns: [],
      attempt: 1,
    } as any),
  );
  const failed = await store.submit({ report_name: "top-movies-per-rating", params: { top: 3 }, output: "json" });
  const claimedFailed = await claimOne(store, "test-owner", 60_000);
  const error = { code: RequestErrorCode.Execution, message: "failed on purpose" };
  assert.ok(await store.fail({ id: claimedFailed!._id, owner: "test-owner", attempt: claimedFailed!.attempts }, error));
  const cancelled = await store.submit({ report_name: "top-movies-per-rating", params: { top: 4 }, output: "json" });
  assert.is((await store.cancel(cancelled._id))?.status, RequestStatus.Cancelled);
  // A marker after everything: once it arrives, any event before it has too.
  const marker = await store.submit({ report_name: "top-movies-per-rating", params: { top: 2 }, output: "json" });
  await eventually(async () => (seen.some((event) => event.id.equals(marker._id)) ? true : undefined), 5_000);
  const of = (id: ObjectId) => seen.filter((event) => event.id.equals(id)).map((event) => event.status);
  assert.equal(of(done._id), ["pending", "running"]);
  assert.equal(of(failed._id), ["pending", "running"]);
  assert.equal(of(cancelled._id), ["pending", "cancelled"]);
  await events.close();
  await env.service.context.database.requests.deleteMany({});
});

test("a worker's stream leaves out its own claims (notClaimedBy) and still hears another worker's", async () => {
  const { events, seen } = await listen({ statuses: WORKER_STATUSES, notClaimedBy: "this-worker" });
  const store = new RequestStore(env.service.context.database.requests, env.service.context.store.seal);
  const own = await store.submit({ report_name: "top-movies-per-rating", params: {}, output: "json" });
  assert.ok((await claimOne(store, "this-worker", 60_000))?._id.equals(own._id));
  const others = await store.submit({ report_name: "top-movies-per-rating", params: { top: 3 }, output: "json" });
  assert.ok((await claimOne(store, "another-worker", 60_000))?._id.equals(others._id));
  // Batch claims set the lease the same way: one of two taken by this worker, in one bulk write.
  const batch = [
    await store.submit({ report_name: "top-movies-per-rating", params: { top: 4 }, output: "json" }),
    await store.submit({ report_name: "top-movies-per-rating", params: { top: 5 }, output: "json" }),
  ];
  assert.is((await store.claimPendingBatch("this-worker", 60_000, 2)).requests.length, 2);
  // A marker after everything: once it arrives, any event before it has too.
  const marker = await store.submit({ report_name: "top-movies-per-rating", params: { top: 2 }, output: "json" });
  await eventually(async () => (seen.some((event) => event.id.equals(marker._id)) ? true : undefined), 5_000);
  const of = (id: ObjectId) => seen.filter((event) => event.id.equals(id)).map((event) => event.status);
  assert.equal(of(own._id), ["pending"], "its own claim is not delivered");
  assert.equal(of(others._id), ["pending", "running"], "another worker's claim is");
  for (const doc of batch) assert.equal(of(doc._id), ["pending"]);
  await events.close();
  await env.service.context.database.requests.deleteMany({});
});

test("a wait= poll wakes on the status change", async () => {
  const submitted = await post(`${env.service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 1 });
  assert.is(submitted.status, 202);
  const id = new ObjectId(submitted.body.id as string);
  // The poll may hold for 30 s (the most WAIT_MAX_S allows by default); the change below must end it long before.
  const polled = get(`${env.service.url}/v1/reports/${id}?wait=30`);
  await eventually(async () => (env.service.api.waiter.waiters > 0 ? true : undefined), 5_000, 10);
  await env.service.context.database.requests.updateOne(
    { _id: id },
    { $set: { status: "error", error: { code: RequestErrorCode.Execution, message: "set by the test" } } },
  );
  const response = await polled;
  assert.is(response.body.status, "error");
  await env.service.context.database.requests.deleteMany({});
});

test("a held submission (Prefer: wait=N) answers once the request is final: 201 with the final document", async () => {
  const held = request(`${env.service.url}/v1/reports`, {
    json: { report_name: "top-movies-per-rating", top: 6 },
    headers: { Prefer: "respond-async, wait=30" },
  });
  // No worker here: the test ends the request itself once the API has stored it (and waits on it).
  const stored = await eventually(
    async () => (await env.service.context.database.requests.findOne({ "params.top": 6 })) ?? undefined,
    5_000,
  );
  await eventually(async () => (env.service.api.waiter.waiters > 0 ? true : undefined), 5_000, 10);
  await env.service.context.database.requests.updateOne(
    { _id: stored._id },
    { $set: { status: "error", error: { code: RequestErrorCode.Execution, message: "set by the test" } } },
  );
  const response = await held;
  assert.is(response.status, 201, JSON.stringify(response.body));
  assert.is(response.body.id, String(stored._id));
  assert.is(response.body.status, "error");
  assert.is(response.headers.get("preference-applied"), "wait=30");
  assert.is(response.headers.get("retry-after"), null);
  assert.is(env.service.api.waiter.waiters, 0, "no wait left registered");
  await env.service.context.database.requests.deleteMany({});
});

test("a held submission still pending when its wait is up answers 202 with Retry-After; no wait= answers at once", async () => {
  const started = Date.now();
  const held = await post(`${env.service.url}/v1/reports?wait=1`, { report_name: "top-movies-per-rating", top: 7 });
  assert.is(held.status, 202);
  assert.ok(Date.now() - started >= 900, `answered after ${Date.now() - started} ms of a 1 s wait`);
  assert.is(held.body.status, "pending");
  assert.is(held.headers.get("preference-applied"), "wait=1");
  assert.is(held.headers.get("retry-after"), "1");
  const unheld = await post(`${env.service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 8 });
  assert.is(unheld.status, 202);
  assert.is(unheld.headers.get("preference-applied"), null);
  assert.is(env.service.api.waiter.waiters, 0);
  await env.service.context.database.requests.deleteMany({});
});

test("held submissions share MAX_LONG_POLLS_PER_KEY: one over it is stored and answered at once; a client that goes away frees its slot", async () => {
  const capped = await startTestService(
    { ...env.mongo, dbName: `${env.mongo.dbName}_held_caps` },
    { worker: false, config: { maxLongPollsPerKey: 1, waitMaxSeconds: 300 } },
  );
  const controller = new AbortController();
  const waiters = (n: number) => eventually(async () => (capped.api.waiter.waiters === n ? true : undefined), 60_000, 10);
  try {
    // No worker: a held submission waits its full 300 s unless its client leaves.
    const first = request(`${capped.url}/v1/reports?wait=300`, {
      json: { report_name: "top-movies-per-rating", top: 11 },
      signal: controller.signal,
    }).catch((error: unknown) => (controller.signal.aborted ? null : Promise.reject(error)));
    await waiters(1);
    const over = await post(`${capped.url}/v1/reports?wait=300`, { report_name: "top-movies-per-rating", top: 12 });
    assert.is(over.status, 202, "over the cap the submission is stored and answered, not refused");
    assert.is(over.headers.get("preference-applied"), null);
    assert.ok(await capped.context.database.requests.findOne({ _id: new ObjectId(over.body.id as string) }));
    controller.abort();
    assert.is(await first, null);
    await waiters(0);
    // Its request stays stored, pending: leaving only ends the wait.
    assert.is(await capped.context.database.requests.countDocuments({ status: RequestStatus.Pending }), 2);
    const again = await post(`${capped.url}/v1/reports?wait=1`, { report_name: "top-movies-per-rating", top: 13 });
    assert.is(again.headers.get("preference-applied"), "wait=1", "the slot is free again");
  } finally {
    controller.abort();
    await capped.close();
  }
});

test("MAX_LONG_POLLS_PER_KEY caps the waiting reads one key holds; one more is answered at once, without Preference-Applied; a closed one frees its slot", async () => {
  const capped = await startTestService(
    { ...env.mongo, dbName: `${env.mongo.dbName}_caps` },
    { worker: false, config: { maxLongPollsPerKey: 2, waitMaxSeconds: 300, apiKeys: namedKeys("carol", "dave") } },
  );
  const held: AbortController[] = [];
  const hold = (url: string, headers: Record<string, string>) => {
    const controller = new AbortController();
    held.push(controller);
    return request(url, { headers, signal: controller.signal }).catch((error: unknown) =>
      controller.signal.aborted ? null : Promise.reject(error),
    );
  };
  const waiters = (n: number) =>
    eventually(async () => (capped.api.waiter.waiters === n ? true : undefined), 60_000, 10).catch(() => {
      throw new Error(`expected ${n} held reads, the service holds ${capped.api.waiter.waiters}`);
    });
  try {
    const mine = await post(`${capped.url}/v1/reports`, { report_name: "top-movies-per-rating" }, as("carol"));
    const url = `${capped.url}/v1/reports/${mine.body.id}`;
    // No worker: the request stays pending, so every poll below waits its full 300 s unless the cap answers it.
    const first = hold(`${url}?wait=300`, as("carol"));
    const second = hold(url, { ...as("carol"), Prefer: "wait=300" });
    await waiters(2);
    for (const over of [await get(`${url}?wait=300`, as("carol")), await get(url, { ...as("carol"), Prefer: "wait=300" })]) {
      assert.is(over.status, 200, "over the cap the read is answered, not refused");
      assert.is(over.body.status, "pending");
      assert.is(over.headers.get("preference-applied"), null);
      assert.is(over.headers.get("retry-after"), "1");
    }
    assert.is(capped.api.waiter.waiters, 2, "the two held reads still wait");
    assert.is((await get(`${url}?wait=0`, as("carol"))).headers.get("preference-applied"), null);
    // Another key has its own slots.
    const theirs = await post(`${capped.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 2 }, as("dave"));
    const daves = hold(`${capped.url}/v1/reports/${theirs.body.id}?wait=300`, as("dave"));
    await waiters(3);
    // A client that goes away gives its slot back at once.
    held[0].abort();
    assert.is(await first, null);
    await waiters(2);
    const third = hold(`${url}?wait=300`, as("carol"));
    await waiters(3);
    await capped.context.database.requests.updateMany(
      {},
      { $set: { status: RequestStatus.Error, error: { code: RequestErrorCode.Execution, message: "set by the test" } } },
    );
    for (const answer of [await second, await third, await daves]) {
      assert.is(answer?.status, 200);
      assert.is(answer?.body.status, "error");
      assert.is(answer?.headers.get("preference-applied"), "wait=300");
    }
  } finally {
    for (const controller of held) controller.abort();
    await capped.close();
  }
});

test("a cancelled running job stops on its status event (the next heartbeat is 20 s away)", async () => {
  const logged: { event: string }[] = [];
  const log = createLogger({}, "info", (line) => logged.push(JSON.parse(line)));
  const worker = env.startWorker({ log });
  // gated-rows runs until its gate closes: it is still running when the cancel comes, on any machine.
  const gate = await openGate(env.service.context.database.db);
  const submitted = await post(`${env.service.url}/v1/reports`, { report_name: "gated-rows", ...gate.params });
  const id = new ObjectId(submitted.body.id as string);
  const results = env.service.context.database.results;
  await gate.pass(40);
  await eventually(async () => ((await results.countDocuments({ request_id: id })) > 0 ? true : undefined), 120_000, 5);
  const cancelled = await request(`${env.service.url}/v1/reports/${id}/cancel`, { method: "POST" });
  assert.is(cancelled.body.status, "cancelled");
  await eventually(async () => (worker.activeJobs === 0 ? true : undefined), 10_000, 20);
  // Stopped as cancelled, not run to the end and refused at its fenced completion.
  assert.ok(
    logged.some((line) => line.event === "job.cancelled"),
    logged.map((line) => line.event).join(" "),
  );
  await eventually(async () => ((await results.countDocuments({ request_id: id })) === 0 ? true : undefined), 5_000, 20);
  assert.is((await env.service.context.database.requests.findOne({ _id: id }))!.status, "cancelled");
  await gate.close();
});

test("after the collection is dropped (invalidate) the stream reopens and the service keeps working", async () => {
  const events = env.service.context.events;
  const openedBefore = events.opened;
  const deliveredBefore = events.delivered;
  await env.service.context.database.requests.drop();
  await eventually(async () => (events.opened > openedBefore ? true : undefined), 10_000, 20);
  env.startWorker();
  const submitted = await post(`${env.service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 3 });
  assert.is(submitted.status, 202);
  const done = await get(`${env.service.url}/v1/reports/${submitted.body.id}?wait=30`);
  assert.is(done.body.status, "completed");
  assert.ok(events.delivered > deliveredBefore, "events arrive on the reopened stream");
});

test.run();
