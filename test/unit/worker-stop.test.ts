/**
 * A worker stopping while a claim is in flight, without a database: the store is a stand-in whose
 * claim answers when the test says, so stop() is sure to begin while it is out.
 */
import { suite } from "../support/suite.ts";
import { claimedBatch, quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { silentLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import type { Claim, ClaimedBatch } from "../../src/requests/store.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker stop");

test("a request claimed while stop() runs is released (no attempt spent), and stop() waits for that", async () => {
  let answerClaim: (doc: RequestDocument | null) => void = () => {};
  const released: Claim[] = [];
  let claims = 0;
  const store = {
    claimExpired: async () => null,
    claimPendingBatch: (_owner: string, _leaseMs: number, limit: number) => {
      claims += 1;
      return new Promise<ClaimedBatch>((resolve) => (answerClaim = (doc) => resolve(claimedBatch(doc ? [doc] : [], limit))));
    },
    release: async (claim: Claim) => {
      await new Promise((resolve) => setTimeout(resolve, 20)); // a real round trip stop() must wait for
      released.push(claim);
      return true;
    },
  };
  const config = quietWorkerConfig({ workerConcurrency: 2 });
  const events = silentEvents;
  const deps = { config, store, events, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(deps);
  worker.start();
  await new Promise((resolve) => setImmediate(resolve)); // the look for expired leases answers first
  assert.is(claims, 1, "start() claims at once");
  const stopped = worker.stop();
  const id = new ObjectId();
  answerClaim({ _id: id, status: "running", attempts: 2, report_name: "x" } as unknown as RequestDocument);
  await stopped;
  assert.equal(released, [{ id, owner: worker.owner, attempt: 2 }]);
  assert.is(worker.activeJobs, 0);
  assert.is(claims, 1, "no claim after stop()");
});

test.run();
