/**
 * A worker whose batch claim lost every candidate to other workers, without a database: the store
 * is a stand-in answering as RequestStore.claimPendingBatch does. Losing a race is not an empty
 * queue: the worker tries the next candidates at once (a bounded number of times) instead of
 * waiting for the sweep, while more requests wait and no event will announce them again.
 */
import { suite } from "../support/suite.ts";
import { quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { silentLogger } from "../../src/log.ts";
import type { ClaimedBatch } from "../../src/requests/store.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker lost claim race");

/**
 * Starts a worker whose every batch claim answers `answer`, lets its first wake end, and counts its
 * claims; `maxJobs` makes it a Kubernetes Job's worker (WORKER_MAX_JOBS), which says when it is done.
 */
async function firstWake(answer: ClaimedBatch, maxJobs = 0): Promise<{ claims: number; done: boolean }> {
  let claims = 0;
  let done = false;
  const store = {
    claimExpired: async () => null,
    claimPendingBatch: async () => {
      claims += 1;
      return answer;
    },
  };
  // The sweep (60 s) cannot fire within the test: every claim counted is the first wake's.
  const config = quietWorkerConfig({ workerMaxJobs: maxJobs });
  const deps = { config, store, events: silentEvents, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(
    deps,
    () => {},
    () => (done = true),
  );
  worker.start();
  await worker.stop(); // waits for the claiming round in flight
  return { claims, done };
}

test("a claim that lost every candidate tries the next ones at once, at most twice more", async () => {
  assert.equal(await firstWake({ requests: [], exhausted: false }), { claims: 3, done: false });
});

test("a claim that found the queue empty is not repeated", async () => {
  assert.equal(await firstWake({ requests: [], exhausted: true }), { claims: 1, done: false });
});

test("a Job's worker that lost every candidate is not done: only an empty queue ends it", async () => {
  assert.equal(await firstWake({ requests: [], exhausted: false }, 5), { claims: 3, done: false });
  assert.equal(await firstWake({ requests: [], exhausted: true }, 5), { claims: 1, done: true });
});

test.run();
