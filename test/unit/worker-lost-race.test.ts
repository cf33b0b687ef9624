/**
 * A worker whose batch claim lost every candidate to other workers, without a database: the store
 * is a stand-in answering as RequestStore.claimPendingBatch does. Losing a race is not an empty
 * queue: the worker tries the next candidates at once (a bounded number of times), then wakes
 * itself again shortly, instead of waiting for the sweep while more requests wait and no event
 * will announce them again.
 */
import { suite } from "../support/suite.ts";
import { eventually } from "../support/http.ts";
import { quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { silentLogger } from "../../src/log.ts";
import type { ClaimedBatch } from "../../src/requests/store.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker lost claim race");

const LOST: ClaimedBatch = { requests: [], exhausted: false };
const EMPTY: ClaimedBatch = { requests: [], exhausted: true };

/**
 * A worker whose batch claims answer `answers` in turn (the last one from then on); `maxJobs` makes
 * it a Kubernetes Job's worker (WORKER_MAX_JOBS), which says when it is done. The sweep (60 s)
 * cannot fire within a test: every claim counted came from the first wake or the worker's own.
 */
function workerAnswering(answers: ClaimedBatch[], maxJobs = 0) {
  const seen = { claims: 0, done: false };
  const store = {
    claimExpired: async () => null,
    claimPendingBatch: async () => answers[Math.min(seen.claims++, answers.length - 1)],
  };
  const config = quietWorkerConfig({ workerMaxJobs: maxJobs });
  const deps = { config, store, events: silentEvents, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(
    deps,
    () => {},
    () => (seen.done = true),
  );
  return { worker, seen };
}

test("a claim that lost every candidate tries the next ones at once, then wakes the worker again without an event", async () => {
  const { worker, seen } = workerAnswering([LOST]);
  worker.start();
  // The stand-in answers at once, so the first wake's claims all run before any timer can fire.
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(seen.claims, 3, "one claim and two retries in the first wake");
  // The fourth comes from the worker's own wake, with no event and long before the sweep.
  await eventually(async () => (seen.claims >= 4 ? true : undefined), 10_000, 5);
  await worker.stop();
});

test("a worker that is stopping does not retry a lost race", async () => {
  const { worker, seen } = workerAnswering([LOST]);
  worker.start();
  await worker.stop(); // waits for the claim in flight, which began before the stop
  assert.is(seen.claims, 1);
});

test("a Job's worker that lost every race is not done; finding the queue empty ends it", async () => {
  const { worker, seen } = workerAnswering([LOST, LOST, LOST, EMPTY], 5);
  worker.start();
  await eventually(async () => (seen.done ? true : undefined), 10_000, 5);
  assert.is(seen.claims, 4, "three lost claims did not end it; the fourth, on its own wake, found the queue empty");
  await worker.stop();
});

test.run();
