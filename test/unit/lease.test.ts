/**
 * The lease heartbeat's scheduling, without a database: the store is a stand-in whose renewals
 * take as long as the test says.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { silentLogger } from "../../src/log.ts";
import type { RequestStore } from "../../src/requests/store.ts";
import { LeaseKeeper, LeaseLostError } from "../../src/worker/lease.ts";

const test = suite("lease keeper");
const claim = { id: new ObjectId(), owner: "me", attempt: 1 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A store whose renewals each take `renewMs` and answer `held()`; it records how many overlap. */
function slowStore(renewMs: number, held: () => boolean = () => true) {
  const seen = { calls: 0, inFlight: 0, maxInFlight: 0 };
  const store = {
    async renew() {
      seen.calls += 1;
      seen.inFlight += 1;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      await sleep(renewMs);
      seen.inFlight -= 1;
      return held();
    },
  } as unknown as RequestStore;
  return { store, seen };
}

test("a renewal slower than the heartbeat period is never joined by another", async () => {
  const { store, seen } = slowStore(60);
  const keeper = new LeaseKeeper(store, claim, 1_000, 10, silentLogger);
  await sleep(400);
  keeper.stop();
  assert.ok(seen.calls >= 3, `renewals kept coming (${seen.calls})`);
  assert.is(seen.maxInFlight, 1, "renewals overlapped");
});

test("stop() ends the heartbeat, also when called while a renewal is in flight", async () => {
  const { store, seen } = slowStore(50);
  const keeper = new LeaseKeeper(store, claim, 1_000, 10, silentLogger);
  await sleep(30); // the first renewal is in flight
  keeper.stop();
  const calls = seen.calls;
  await sleep(200);
  assert.is(seen.calls, calls);
  assert.not.ok(keeper.signal.aborted, "stopping is not losing the lease");
});

test("a renewal that finds the lease gone aborts the run with LeaseLostError and renews no more", async () => {
  const { store, seen } = slowStore(1, () => false);
  const keeper = new LeaseKeeper(store, claim, 1_000, 10, silentLogger);
  await sleep(150);
  assert.ok(keeper.signal.aborted);
  assert.instance(keeper.signal.reason, LeaseLostError);
  assert.is(seen.calls, 1);
});

test.run();
