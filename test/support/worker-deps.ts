/**
 * What the worker unit tests build a Worker from: the real configuration (defaults, with the
 * timers pushed out of the test's way) and a change-event source that never fires. The stores and
 * databases stay per test: they are what each test is about.
 */
import { loadConfig, type Config } from "../../src/config.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import type { ClaimedBatch } from "../../src/requests/store.ts";

/** A complete Config whose sweep, heartbeat and progress timers do not fire within a test. */
export function quietWorkerConfig(overrides: Partial<Config> = {}): Config {
  return loadConfig(
    {},
    {
      leaseMs: 30_000,
      heartbeatMs: 60_000,
      progressIntervalMs: 60_000,
      sweepMs: 60_000,
      shutdownGraceMs: 1_000,
      unreachableExitMs: 0,
      ...overrides,
    },
  );
}

/** Change events that never arrive. */
export const silentEvents = { subscribe: () => () => {}, delivered: 0 };

/**
 * A stub store's answer to `claimPendingBatch(owner, leaseMs, limit)` as the real store gives it:
 * the requests taken, exhausted when fewer were there than the claim asked for.
 */
export function claimedBatch(requests: RequestDocument[], limit: number): ClaimedBatch {
  return { requests, exhausted: requests.length < limit };
}
