/**
 * What a failing claim means to the worker, without a database: the store is a stand-in whose
 * claim throws what the test says. A server that answers with an error is reachable; only a
 * database the worker cannot reach counts towards UNREACHABLE_EXIT_S.
 */
import { suite } from "../support/suite.ts";
import { quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { MongoNetworkError, MongoServerError } from "mongodb";
import { silentLogger } from "../../src/log.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker: claim errors");

/** Runs a worker whose every claim throws `error` for a while; returns how often it was told the database is unreachable. */
async function unreachableCalls(error: Error): Promise<number> {
  let claims = 0;
  const store = {
    claimExpired: async () => null,
    claimPendingBatch: async () => {
      claims += 1;
      throw error;
    },
  };
  // Every wake is a sweep (nothing was announced): each one claims.
  const config = quietWorkerConfig({ unreachableExitMs: 1, sweepMs: 1 });
  const deps = { config, store, events: silentEvents, log: silentLogger } as unknown as WorkerDeps;
  let calls = 0;
  const worker = new Worker(deps, () => (calls += 1));
  // Past UNREACHABLE_EXIT (1 ms here) since the worker was made, before its first claim fails.
  await new Promise((resolve) => setTimeout(resolve, 10));
  worker.start();
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    worker.wake();
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  await worker.stop();
  assert.ok(claims >= 1, `claimed ${claims} times`);
  return calls;
}

test("a server error (TypeMismatch, code 14) never counts as an unreachable database", async () => {
  const refusal = new MongoServerError({ message: "Cannot apply $inc to a value of non-numeric type", code: 14, codeName: "TypeMismatch" });
  assert.is(await unreachableCalls(refusal), 0);
});

test("a network error does count (the control)", async () => {
  assert.ok((await unreachableCalls(new MongoNetworkError("connection refused"))) > 0);
});

test.run();
