/**
 * What a failed run means for its request: which failures are worth another attempt, and the
 * error record (code, message, details) the client will read.
 *
 * Only what can pass on another try is retried: the network, server selection, errors the server
 * or driver labels retryable, the transient server codes below, and CSV storage failures. Anything
 * else (a pipeline the server rejects, a type error on dirty data, a document too large, a memory
 * limit, missing authorization, a bug in a report module) would fail the same way again after
 * waiting out its backoff and up to `maxTimeMS` per attempt, so it fails on the first attempt with
 * the server's code in `details`.
 */
import { MongoError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from "mongodb";
import type { RequestError } from "../requests/document.ts";
import { UnknownReportError } from "../reports/registry.ts";
import { ValidationError } from "../reports/validation.ts";
import { ExportError } from "../results/export.ts";
import { FormatLimitError } from "../results/formats/format.ts";
import { RequestErrorCode } from "../requests/status.ts";

/**
 * MaxTimeMSExpired: the report ran past its own time limit (`maxTimeMS`). ExceededTimeLimit (262)
 * is not one: the server raises it when an internal wait (a lock, a routing or read-concern wait)
 * gives up, and the driver retries reads on it (it is in driver 7.9's retryable read and resumable
 * getMore code sets), so it is transient below.
 */
const TIME_LIMIT_CODES: ReadonlySet<number> = new Set([50]);

/**
 * Server codes that describe the deployment's state, not the report: a replica-set election, a
 * node shutting down or unreachable, a cursor or plan killed under the query by such events, a
 * write conflict, routing information a shard or mongos found stale, a read preference no member
 * could satisfy for now. The same aggregation can pass once the deployment has settled. It holds
 * every code of driver 7.9's retryable-read and resumable-getMore sets (test/unit/classify-error.test.ts
 * reads them from the installed driver's source), plus codes the driver leaves to the application.
 */
export const TRANSIENT_SERVER_CODES: ReadonlyMap<number, string> = new Map([
  [6, "HostUnreachable"],
  [7, "HostNotFound"],
  [43, "CursorNotFound"],
  [63, "StaleShardVersion"],
  [89, "NetworkTimeout"],
  [91, "ShutdownInProgress"],
  [112, "WriteConflict"],
  [133, "FailedToSatisfyReadPreference"],
  [134, "ReadConcernMajorityNotAvailableYet"],
  [150, "StaleEpoch"],
  [175, "QueryPlanKilled"],
  [189, "PrimarySteppedDown"],
  [202, "NetworkInterfaceExceededTimeLimit"],
  [234, "RetryChangeStream"],
  [237, "CursorKilled"],
  [262, "ExceededTimeLimit"],
  [9001, "SocketException"],
  [10107, "NotWritablePrimary"],
  [11600, "InterruptedAtShutdown"],
  [11602, "InterruptedDueToReplStateChange"],
  [13388, "StaleConfig"],
  [13435, "NotPrimaryNoSecondaryOk"],
  [13436, "NotPrimaryOrSecondary"],
]);

/**
 * Error labels under which the server or driver says an operation may be retried. MongoDB 8.x's
 * admission control rejects work it has no room for with `SystemOverloadedError` and
 * `RetryableError` (driver 7.9 retries those with its own backoff first, see its
 * execute_operation.ts); once that is spent, a later attempt after this backoff may still pass.
 */
export const RETRYABLE_LABELS = [
  "RetryableWriteError",
  "TransientTransactionError",
  "ResumableChangeStreamError",
  "RetryableError",
  "SystemOverloadedError",
];

/** transient: another attempt may pass; timeout: past the time limit; permanent: would fail again. */
export type ErrorKind = "transient" | "timeout" | "permanent";

export interface ClassifiedError {
  kind: ErrorKind;
  error: RequestError;
}

export function classifyError(error: unknown): ClassifiedError {
  if (error instanceof ValidationError) {
    return { kind: "permanent", error: { code: RequestErrorCode.Validation, message: error.message, details: error.errors } };
  }
  if (error instanceof UnknownReportError) {
    return {
      kind: "permanent",
      error: { code: RequestErrorCode.UnknownReport, message: error.message, details: { available: error.available } },
    };
  }
  if (error instanceof FormatLimitError) {
    // The result does not fit a format (an Excel cell, a Parquet column's type): it would not fit
    // on another attempt either, and is never shortened to fit.
    return { kind: "permanent", error: { code: RequestErrorCode.ExportLimit, message: error.message } };
  }
  const server = serverDetails(error);
  if (error instanceof MongoServerError && TIME_LIMIT_CODES.has(Number(error.code))) {
    return {
      kind: "timeout",
      error: { code: RequestErrorCode.Timeout, message: `the report ran past its time limit: ${error.message}`, details: server },
    };
  }
  return {
    kind: isTransient(error) ? "transient" : "permanent",
    error: { code: RequestErrorCode.Execution, message: withoutServerPaths(errorText(error)), ...(server ? { details: server } : {}) },
  };
}

/** An error as one line of text: its name and message. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * An absolute file path: a `/` that starts a token (after the start, a space, a quote, a bracket
 * or `=`), up to the next space, quote or bracket. A URL's path follows its host, and `gs://` or
 * `https://` follow a colon, so URLs are left alone.
 */
const SERVER_PATH = /(^|[\s'"`([{=,])\/[^\s'"`)\]},]*/g;

/**
 * `message` without absolute paths of the server's file system (where the local sink writes, a
 * module's location): a request's error is read by clients. The worker logs the whole error.
 */
export function withoutServerPaths(message: string): string {
  return message.replace(SERVER_PATH, (_match, before: string) => `${before}<server path>`);
}

export function isTransient(error: unknown): boolean {
  // Storage failures (a GCS outage, a full disk): the storage client has retried the single call
  // already; another attempt later may pass, and MAX_ATTEMPTS bounds it.
  if (error instanceof ExportError) return true;
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  if (error instanceof MongoError) {
    if (RETRYABLE_LABELS.some((label) => error.hasErrorLabel(label))) return true;
    if (typeof error.code === "number" && TRANSIENT_SERVER_CODES.has(error.code)) return true;
  }
  return false;
}

/** The server's own code and name, for `error.details` (a client can look them up). */
function serverDetails(error: unknown): { server_code: number; code_name?: string } | undefined {
  if (!(error instanceof MongoServerError) || typeof error.code !== "number") return undefined;
  return { server_code: error.code, ...(error.codeName ? { code_name: error.codeName } : {}) };
}

/** Exponential backoff with full jitter: base × 2^(attempt−1) × [0.5, 1.5). */
export function retryDelayMs(baseMs: number, attempt: number, random = Math.random): number {
  const exponential = baseMs * 2 ** Math.max(0, attempt - 1);
  return Math.round(Math.min(exponential, 3_600_000) * (0.5 + random()));
}
