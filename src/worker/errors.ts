/**
 * What a failed run means for its request: which failures are worth another attempt, and the
 * error record (code, message, details) the client will read.
 */
import { MongoServerError } from "mongodb";
import type { RequestError } from "../requests/document.ts";
import { UnknownReportError } from "../reports/registry.ts";
import { ValidationError } from "../reports/validation.ts";

/** MongoDB's MaxTimeMSExpired. */
const MAX_TIME_EXPIRED = 50;

export interface ClassifiedError {
  error: RequestError;
  /** False when running again cannot succeed (bad input, unknown report, over time limit). */
  retryable: boolean;
}

export function classifyError(error: unknown): ClassifiedError {
  if (error instanceof ValidationError) {
    return { retryable: false, error: { code: "validation", message: error.message, details: error.errors } };
  }
  if (error instanceof UnknownReportError) {
    return { retryable: false, error: { code: "unknown_report", message: error.message, details: { available: error.available } } };
  }
  if (error instanceof MongoServerError && error.code === MAX_TIME_EXPIRED) {
    return { retryable: false, error: { code: "timeout", message: `the report ran past its time limit: ${error.message}` } };
  }
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : "Error";
  return { retryable: true, error: { code: "execution", message: `${name}: ${message}` } };
}

/** Exponential backoff with full jitter: base × 2^(attempt−1) × [0.5, 1.5). */
export function retryDelayMs(baseMs: number, attempt: number, random = Math.random): number {
  const exponential = baseMs * 2 ** Math.max(0, attempt - 1);
  return Math.round(Math.min(exponential, 3_600_000) * (0.5 + random()));
}
