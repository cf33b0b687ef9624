/**
 * The request's statuses and the worker's error codes: the one list of each, read by the store,
 * the worker, metrics, the OpenAPI document and the web console. It imports nothing, so the
 * console's bundle can take it as it is.
 */

export const RequestStatus = {
  Pending: "pending",
  Running: "running",
  Completed: "completed",
  Error: "error",
  Cancelled: "cancelled",
} as const;
export type RequestStatus = (typeof RequestStatus)[keyof typeof RequestStatus];

/** Every status, in the order a request goes through them. */
export const STATUSES: readonly RequestStatus[] = Object.values(RequestStatus);

/** A request in one of these states will not change again. */
export const FINAL_STATUSES: readonly RequestStatus[] = [RequestStatus.Completed, RequestStatus.Error, RequestStatus.Cancelled];

export function isFinal(status: string | undefined): boolean {
  return (FINAL_STATUSES as readonly (string | undefined)[]).includes(status);
}

/** Why a request ended in error (its `error.code`), as the worker writes it. */
export const RequestErrorCode = {
  /** The parameters (or the request's own fields) do not validate. */
  Validation: "validation",
  /** No report of that name, even after reloading the catalogue. */
  UnknownReport: "unknown_report",
  /** The run went past the report's time limit. */
  Timeout: "timeout",
  /** Earlier attempts ended without a result (their workers died) and none is left. */
  AttemptsExhausted: "attempts_exhausted",
  /** The aggregation or the output failed in a way another try would not change. */
  Execution: "execution",
  /** The result goes past a file format's limit (an Excel cell, a Parquet column's type): never shortened to fit. */
  ExportLimit: "export_limit",
  /** The document itself cannot be claimed or processed (a field of the wrong type): set aside. */
  InvalidDocument: "invalid_document",
  /** Read, never written: a document an integration inserted already final (see admission.ts). */
  NotAdmitted: "not_admitted",
} as const;
export type RequestErrorCode = (typeof RequestErrorCode)[keyof typeof RequestErrorCode];

export const ERROR_CODES: readonly RequestErrorCode[] = Object.values(RequestErrorCode);
