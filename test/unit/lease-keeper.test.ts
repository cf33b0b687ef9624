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

/**
 * Waits until `done()` holds (a busy machine runs timers late: a test waits for the renewals it
 * needs, never for a fixed time); fails with `what` when it does not within 30 s.
 */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within 30 s: ${what}`);
    await sleep(5);
  }
}

/**
 * A store whose renewals each take `renewMs` and answer `held()`, and which gives up when the
 * renewal's signal is aborted (as the driver does, closing the connection); it records how many
 * renewals were in flight at once and how many were abandoned.
 */
function slowStore(renewMs: number, held: () => boolean = () => true) {
  const seen = { calls: 0, inFlight: 0, maxInFlight: 0, abandoned: 0, serverLimits: [] as (number | undefined)[] };
  const store = {
    renew(_claim: unknown, _leaseMs: number, _now: Date, _progress: unknown, signal?: AbortSignal, serverLimitMs?: number) {
      seen.calls += 1;
      seen.serverLimits.push(serverLimitMs);
      seen.inFlight += 1;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      return new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => {
          seen.inFlight -= 1;
          resolve(held());
        }, renewMs);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          seen.inFlight -= 1;
          seen.abandoned += 1;
          reject(signal.reason);
        });
      });
    },
  } as unknown as RequestStore;
  return { store, seen };
}

test("renewals never overlap: one unanswered when the lease runs out is abandoned before the next is sent", async () => {
  const { store, seen } = slowStore(1_000);
  const keeper = new LeaseKeeper(store, claim, 60, 20, silentLogger);
  await until(() => seen.calls >= 3, "three renewals");
  keeper.stop();
  assert.ok(seen.calls >= 3, `renewals kept coming (${seen.calls})`);
  assert.ok(seen.abandoned >= seen.calls - 1, `stuck renewals were abandoned (${seen.abandoned} of ${seen.calls})`);
  assert.is(seen.maxInFlight, 1, "renewals overlapped");
  assert.not.ok(keeper.signal.aborted, "an unanswered renewal is not a lost lease");
});

test("each renewal asks the server to give up first: a limit of at most a heartbeat, shorter than the client's patience", async () => {
  const { store, seen } = slowStore(5);
  const keeper = new LeaseKeeper(store, claim, 5_000, 30, silentLogger);
  await until(() => seen.serverLimits.length >= 2, "two renewals");
  keeper.stop();
  assert.ok(seen.serverLimits.length >= 2, `${seen.serverLimits.length} renewals`);
  for (const limit of seen.serverLimits) assert.ok(limit !== undefined && limit >= 1 && limit <= 30, `server limit ${limit}`);
});

test("renewals answered in time are not abandoned, and do not overlap", async () => {
  const { store, seen } = slowStore(5);
  const keeper = new LeaseKeeper(store, claim, 5_000, 30, silentLogger);
  await until(() => seen.calls >= 3 && seen.inFlight === 0, "three renewals, the last answered");
  const abandoned = seen.abandoned; // stop() below may cut one short: that is the job ending
  keeper.stop();
  assert.ok(seen.calls >= 3, `renewals kept coming (${seen.calls})`);
  assert.is(abandoned, 0);
  assert.is(seen.maxInFlight, 1);
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
  await until(() => keeper.signal.aborted, "the run aborted");
  await sleep(50); // no renewal after that
  assert.ok(keeper.signal.aborted);
  assert.instance(keeper.signal.reason, LeaseLostError);
  assert.is(seen.calls, 1);
});

test.run();
