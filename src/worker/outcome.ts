/**
 * A job's outcome, decided in one place: from what happened to a run (it finished, was cancelled,
 * timed out, lost its lease, was stopped by a shutdown, or failed with an error of some kind) and
 * where the request stands (attempt, limit), what to do with the request. Pure: no database, no
 * clock, so every case is unit-tested (test/unit/worker-outcome.test.ts). The worker applies the answer
 * in one place (`Worker.settle`).
 */
import type { RequestError } from "../requests/document.ts";
import { retryDelayMs, type ClassifiedError } from "./errors.ts";
import { RequestErrorCode } from "../requests/status.ts";

/** How a run ended. */
export type RunEnd =
  | { kind: "finished" }
  /** Cancelled by a client: the request is already marked cancelled. */
  | { kind: "cancelled" }
  /** The worker's own deadline for the report passed. */
  | { kind: "timed_out"; message: string }
  /** Another attempt owns the request now (our lease expired and was retaken, or it was cancelled). */
  | { kind: "lease_lost"; message: string }
  /** This worker is shutting down and could not finish in its grace period. */
  | { kind: "shutdown" }
  /** Earlier attempts ended without a result (their workers died) and this one is past the limit. */
  | { kind: "attempts_exhausted" }
  | { kind: "failed"; error: ClassifiedError };

export interface AttemptState {
  attempt: number;
  maxAttempts: number;
}

export interface RetryPolicy {
  retryBaseMs: number;
  /** For the jitter of the backoff; tests pass a fixed one. */
  random?: () => number;
}

export type Outcome =
  /** Store the result (fenced: it may still find the lease gone). */
  | { action: "complete" }
  /** End the request in error: no attempt will follow. */
  | { action: "fail"; error: RequestError }
  /** Back to pending, not to be claimed before `delayMs` from now. */
  | { action: "retry_later"; error: RequestError; delayMs: number }
  /** Back to pending at once without spending the attempt (shutdown). */
  | { action: "release" }
  /** Write nothing: the request is not ours any more (cancelled, or retaken). */
  | { action: "drop"; reason: "cancelled" | "lease_lost"; message: string };

export function decideOutcome(end: RunEnd, state: AttemptState, policy: RetryPolicy): Outcome {
  switch (end.kind) {
    case "finished":
      return { action: "complete" };
    case "cancelled":
      return { action: "drop", reason: "cancelled", message: "the request was cancelled" };
    case "lease_lost":
      return { action: "drop", reason: "lease_lost", message: end.message };
    case "shutdown":
      return { action: "release" };
    case "timed_out":
      return { action: "fail", error: { code: RequestErrorCode.Timeout, message: end.message } };
    case "attempts_exhausted":
      return {
        action: "fail",
        error: {
          code: RequestErrorCode.AttemptsExhausted,
          message: `no attempt finished in ${state.maxAttempts} tries; the last worker stopped without a result`,
        },
      };
    case "failed": {
      const { kind, error } = end.error;
      if (kind === "transient" && state.attempt < state.maxAttempts) {
        return { action: "retry_later", error, delayMs: retryDelayMs(policy.retryBaseMs, state.attempt, policy.random) };
      }
      return { action: "fail", error };
    }
  }
}
