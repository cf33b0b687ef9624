/**
 * A finished job gives its slot back once its completion is queued, not once it is written (see
 * Worker.launch), and stop() still waits for the write. Without a database: the store's writes
 * answer when the test says, so the order of events is the test's to choose.
 */
import { suite } from "../support/suite.ts";
import { quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { number, object } from "superstruct";
import { silentLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import type { Claim } from "../../src/requests/store.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker: a slot freed before its completion is written");

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

test("with one slot, the next job runs while the first one's completion is unwritten; stop() waits for both writes", async () => {
  const docs = [1, 2].map((n) => ({
    _id: new ObjectId(),
    status: "running",
    attempts: 1,
    report_name: "r",
    output: "json",
    params: { n },
  }));
  let claimed = false;
  /** Each completion write, in order, with the means to answer it. */
  const writes: { ids: string[]; answer: () => void }[] = [];
  const held = (ids: string[]) => new Promise<void>((resolve) => writes.push({ ids, answer: resolve }));
  const store = {
    seal: { verify: () => true }, // requests the API accepted
    claimExpired: async () => null,
    // Both in one claim: one for the slot, one prefetched (WORKER_PREFETCH 1) that waits for it.
    claimPendingBatch: async () => (claimed ? [] : ((claimed = true), docs as unknown as RequestDocument[])),
    renew: async () => true,
    complete: async (claim: Claim) => (await held([String(claim.id)]), true),
    completeMany: async (items: { claim: Claim }[]) => {
      await held(items.map((item) => String(item.claim.id)));
      return items.map(() => true);
    },
  };
  const ran: number[] = [];
  const report = {
    name: "r",
    collection: "c",
    params: object({ n: number() }),
    columns: [{ name: "n" }],
    pipeline: (params: { n: number }) => (ran.push(params.n), [{ $match: { n: params.n } }]),
  };
  const catalogue = { get: () => report, require: () => report };
  const database = {
    db: {
      collection: () => ({
        aggregate: () =>
          Object.assign(
            (async function* () {
              yield { n: 1 };
            })(),
            { close: async () => {} },
          ),
      }),
    },
    results: { deleteMany: async () => ({ deletedCount: 0 }) },
  };
  const config = quietWorkerConfig({ workerConcurrency: 1, workerPrefetch: 1, rowsPerChunk: 100, reportMaxTimeMs: 60_000 });
  const deps = { config, store, catalogue, database, events: silentEvents, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(deps);
  worker.start();
  await tick();
  assert.equal(ran, [1, 2], "the second job ran on the one slot while the first one's completion was still being written");
  assert.equal(
    writes.map((write) => write.ids),
    [[String(docs[0]._id)]],
    "the first completion is out; the second waits for it, to go in the next write",
  );

  let stopped = false;
  const stopping = worker.stop().then(() => (stopped = true));
  await tick();
  assert.not.ok(stopped, "stop() waits for the completion in flight");
  writes[0].answer();
  await tick();
  assert.equal(writes[1]?.ids, [String(docs[1]._id)], "the second completion went out once the first write returned");
  assert.not.ok(stopped, "and stop() waits for it too");
  writes[1].answer();
  await stopping;
  assert.is(worker.activeJobs, 0);
});

test.run();
