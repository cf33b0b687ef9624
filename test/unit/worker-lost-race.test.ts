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

/** Starts a worker whose every batch claim answers `answer`, lets its first wake end, and counts its claims. */
async function claimsInFirstWake(answer: ClaimedBatch): Promise<number> {
  let claims = 0;
  const store = {
    claimExpired: async () => null,
    claimPendingBatch: async () => {
      claims += 1;
      return answer;
    },
  };
  // The sweep (60 s) cannot fire within the test: every claim counted is the first wake's.
  const deps = { config: quietWorkerConfig(), store, events: silentEvents, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(deps);
  worker.start();
  await worker.stop(); // waits for the claiming round in flight
  return claims;
}

test("a claim that lost every candidate tries the next ones at once, at most twice more", async () => {
  assert.is(await claimsInFirstWake({ requests: [], exhausted: false }), 3);
});

test("a claim that found the queue empty is not repeated", async () => {
  assert.is(await claimsInFirstWake({ requests: [], exhausted: true }), 1);
});

test.run();
