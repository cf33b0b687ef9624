/**
 * A finished job gives its slot back once its completion is on its way to the database, not once
 * it is written (see Worker.launch), and stop() still waits for the write. Without a database: the
 * store's writes and the reports' rows come when the test says, so the order of events is the
 * test's to choose.
 */
import { suite } from "../support/suite.ts";
import { claimedBatch, quietWorkerConfig } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { number, object } from "superstruct";
import type { Config } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import type { RequestEventListener } from "../../src/requests/events.ts";
import type { Claim } from "../../src/requests/store.ts";
import { RequestStatus } from "../../src/requests/status.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker: a slot freed before its completion is written");

const tick = (ms = 10) => new Promise((resolve) => setTimeout(resolve, ms));

/** A one-row request for the stand-in report `r`, whose row is number `n`. */
function request(n: number, attempts = 1, id = new ObjectId()): RequestDocument {
  return { _id: id, status: "running", attempts, report_name: "r", output: "json", params: { n } } as unknown as RequestDocument;
}

/**
 * A worker over stand-ins. `claims` answers the batch claims in turn, `expired` the looks for
 * expired leases; every completion write waits for the test (`writes[i].answer()`); the report for
 * row `n` yields its row once `gate(n)` resolves (immediately when the test set no gate).
 */
function workerWith(options: {
  config: Partial<Config>;
  claims: RequestDocument[][];
  expired?: (RequestDocument | null)[];
  gates?: Map<number, Promise<void>>;
}) {
  const writes: { claims: Claim[]; answer: (applied?: boolean) => void }[] = [];
  const held = (claims: Claim[]) =>
    new Promise<boolean>((resolve) => writes.push({ claims, answer: (applied = true) => resolve(applied) }));
  const ran: number[] = [];
  const logged: string[] = [];
  let listener: RequestEventListener = {};
  const store = {
    seal: { verify: () => true }, // requests the API accepted
    claimExpired: async () => options.expired?.shift() ?? null,
    claimPendingBatch: async (_owner: string, _leaseMs: number, limit: number) => claimedBatch(options.claims.shift() ?? [], limit),
    renew: async () => true,
    complete: (claim: Claim) => held([claim]),
    completeMany: async (items: { claim: Claim }[]) => {
      const applied = await held(items.map((item) => item.claim));
      return items.map(() => applied);
    },
  };
  const report = {
    name: "r",
    collection: "c",
    params: object({ n: number() }),
    columns: [{ name: "n" }],
    pipeline: (params: { n: number }) => [{ $match: { n: params.n } }],
  };
  const database = {
    db: {
      collection: () => ({
        aggregate: (pipeline: { $match: { n: number } }[]) => {
          const n = pipeline[0].$match.n;
          ran.push(n);
          return Object.assign(
            (async function* () {
              await options.gates?.get(n);
              yield { n };
            })(),
            { close: async () => {} },
          );
        },
      }),
    },
    results: { deleteMany: async () => ({ deletedCount: 0 }) },
  };
  const config = quietWorkerConfig({ rowsPerChunk: 100, reportMaxTimeMs: 60_000, ...options.config });
  const events = { subscribe: (heard: RequestEventListener) => ((listener = heard), () => {}), delivered: 0 };
  const log = createLogger({}, "info", (line) => logged.push(JSON.parse(line).event));
  const catalogue = { get: () => report, require: () => report };
  const worker = new Worker({ config, store, catalogue, database, events, log } as unknown as WorkerDeps);
  return {
    worker,
    writes,
    ran,
    logged,
    hear: (change: Parameters<NonNullable<RequestEventListener["change"]>>[0]) => listener.change?.(change),
  };
}

const attemptsWritten = (writes: { claims: Claim[] }[]) => writes.map((write) => write.claims.map((claim) => claim.attempt));

test("with one slot, the next job runs while the first one's completion is unwritten; stop() waits for both writes", async () => {
  const docs = [request(1), request(2)];
  // Both in one claim: one for the slot, one prefetched (WORKER_PREFETCH 1) that waits for it.
  const { worker, writes, ran } = workerWith({ config: { workerConcurrency: 1, workerPrefetch: 1 }, claims: [docs] });
  worker.start();
  await tick();
  assert.equal(ran, [1, 2], "the second job ran on the one slot while the first one's completion was still being written");
  assert.equal(
    writes.map((write) => write.claims.map((claim) => String(claim.id))),
    [[String(docs[0]._id)]],
    "the first completion is out; the second waits for it, to go in the next write",
  );
  assert.is(worker.activeJobs, 2, "both count as active until their writes are back");

  let stopped = false;
  const stopping = worker.stop().then(() => (stopped = true));
  await tick();
  assert.not.ok(stopped, "stop() waits for the completion in flight");
  writes[0].answer();
  await tick();
  assert.equal(
    writes[1]?.claims.map((claim) => String(claim.id)),
    [String(docs[1]._id)],
    "the second completion went out once the first write returned",
  );
  assert.not.ok(stopped, "and stop() waits for it too");
  writes[1].answer();
  await stopping;
  assert.is(worker.activeJobs, 0);
});

test("a completion waiting to gather (COMPLETION_BATCH_MS) keeps its slot, so the gather ends when the running job does", async () => {
  let finishSecond = () => {};
  const gates = new Map([[2, new Promise<void>((resolve) => (finishSecond = resolve))]]);
  const { worker, writes, ran } = workerWith({
    config: { workerConcurrency: 2, workerPrefetch: 1, completionBatchMs: 5_000 },
    claims: [[request(1), request(2), request(3)]],
    gates,
  });
  worker.start();
  await tick();
  assert.equal(ran, [1, 2], "two slots: the third request waits for one");
  assert.is(writes.length, 0, "the first completion waits for the running second job");
  await tick(30);
  assert.equal(ran, [1, 2], "and holds its slot meanwhile: a third job in it would be one more to wait for");
  finishSecond();
  await tick();
  assert.is(writes.length, 1, "once the second job finished, both went out together");
  assert.is(writes[0].claims.length, 2);
  assert.equal(ran, [1, 2, 3], "and the freed slots took the third");
  writes[0].answer();
  await tick();
  writes[1]?.answer();
  await worker.stop();
});

test("a request retaken by the same worker while its last attempt's completion waits keeps the new attempt cancellable", async () => {
  const id = new ObjectId();
  let finishRetake = () => {};
  const gates = new Map([[2, new Promise<void>((resolve) => (finishRetake = resolve))]]);
  const { worker, writes, ran, logged, hear } = workerWith({
    // A 100 ms sweep looks for expired leases again while the first attempt's write is out.
    config: { workerConcurrency: 1, workerPrefetch: 0, sweepMs: 100 },
    claims: [[request(1, 1, id)]],
    expired: [null, request(2, 2, id)],
    gates,
  });
  worker.start();
  await tick(250);
  assert.equal(ran, [1, 2], "attempt 2 runs while attempt 1's completion is unwritten");
  writes[0].answer(false); // attempt 1's lease was gone: its write does not apply
  await tick();
  hear({ id, operation: "update", status: RequestStatus.Cancelled });
  finishRetake();
  await tick();
  assert.equal(attemptsWritten(writes), [[1]], "attempt 2 was cancelled, so it wrote no completion");
  assert.ok(logged.includes("job.cancelled"), "attempt 2 heard the cancel after attempt 1 ended");
  await worker.stop();
});

test.run();
