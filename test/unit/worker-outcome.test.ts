/**
 * A job's outcome decision (src/worker/outcome.ts), every case, without a database.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { decideOutcome, type RunEnd } from "../../src/worker/outcome.ts";

const test = suite("outcome");
const policy = { retryBaseMs: 1_000, random: () => 0.5 };
const first = { attempt: 1, maxAttempts: 3 };
const last = { attempt: 3, maxAttempts: 3 };
const transient: RunEnd = {
  kind: "failed",
  error: { kind: "transient", error: { code: "execution", message: "MongoNetworkError: reset" } },
};
const permanent: RunEnd = {
  kind: "failed",
  error: { kind: "permanent", error: { code: "execution", message: "bad stage", details: { server_code: 40324 } } },
};

test("a finished run completes, whatever the attempt", () => {
  assert.equal(decideOutcome({ kind: "finished" }, first, policy), { action: "complete" });
  assert.equal(decideOutcome({ kind: "finished" }, last, policy), { action: "complete" });
});

test("cancelled and lease lost write nothing (the request is someone else's now)", () => {
  assert.equal(decideOutcome({ kind: "cancelled" }, first, policy), {
    action: "drop",
    reason: "cancelled",
    message: "the request was cancelled",
  });
  assert.equal(decideOutcome({ kind: "lease_lost", message: "gone" }, first, policy), {
    action: "drop",
    reason: "lease_lost",
    message: "gone",
  });
});

test("shutdown releases without spending the attempt, even on the last one", () => {
  assert.equal(decideOutcome({ kind: "shutdown" }, first, policy), { action: "release" });
  assert.equal(decideOutcome({ kind: "shutdown" }, last, policy), { action: "release" });
});

test("a time-out fails at once with code timeout, on any attempt", () => {
  assert.equal(decideOutcome({ kind: "timed_out", message: "past 300 ms" }, first, policy), {
    action: "fail",
    error: { code: "timeout", message: "past 300 ms" },
  });
  const serverTimeout: RunEnd = { kind: "failed", error: { kind: "timeout", error: { code: "timeout", message: "maxTimeMS" } } };
  assert.equal(decideOutcome(serverTimeout, first, policy), { action: "fail", error: { code: "timeout", message: "maxTimeMS" } });
});

test("a transient failure is retried with backoff while attempts remain, then fails with its reason", () => {
  assert.equal(decideOutcome(transient, first, policy), {
    action: "retry_later",
    error: { code: "execution", message: "MongoNetworkError: reset" },
    delayMs: 1_000,
  });
  const second = decideOutcome(transient, { attempt: 2, maxAttempts: 3 }, policy);
  assert.is(second.action === "retry_later" && second.delayMs, 2_000, "exponential");
  assert.equal(decideOutcome(transient, last, policy), {
    action: "fail",
    error: { code: "execution", message: "MongoNetworkError: reset" },
  });
  assert.is(decideOutcome(transient, { attempt: 1, maxAttempts: 1 }, policy).action, "fail");
});

test("a permanent failure fails on the first attempt, its details kept", () => {
  assert.equal(decideOutcome(permanent, first, policy), {
    action: "fail",
    error: { code: "execution", message: "bad stage", details: { server_code: 40324 } },
  });
});

test("a request past its attempts (earlier workers died) fails as attempts_exhausted", () => {
  const outcome = decideOutcome({ kind: "attempts_exhausted" }, { attempt: 4, maxAttempts: 3 }, policy);
  assert.is(outcome.action, "fail");
  assert.is(outcome.action === "fail" && outcome.error.code, "attempts_exhausted");
  assert.ok(outcome.action === "fail" && /3 tries/.test(outcome.error.message));
});

test.run();
