/**
 * Where CSV files go. A sink hands out one upload per attempt; the upload receives bytes with
 * backpressure and only becomes visible under its final name on `commit`, so a failed or
 * abandoned attempt never leaves a file that looks complete. A sink owns everything about its
 * files: writing, the record stored in the request (`StoredCsv`, with the sink's kind), links,
 * reads and removal; adding one means implementing this interface and choosing it in `open.ts`.
 * Every sink passes the same conformance test (test/integration/sinks.test.ts).
 */
import type { Readable, Writable } from "node:stream";

export interface CsvTarget {
  requestId: string;
  reportName: string;
  attempt: number;
  columns: readonly string[];
}

/** Where a finished CSV is, as stored in the request's result (`result.csv`). */
export interface StoredCsv {
  sink: "gcs" | "local";
  /** GCS only. */
  bucket?: string;
  /** GCS object name, or the path under the local directory. */
  object: string;
  bytes: number;
  rows: number;
  /** A V4 signed URL made at completion (GCS with a signing key), and when it stops working. */
  url?: string;
  url_expires_at?: Date;
}

/**
 * A `result.csv` record as stored, read back: records written before the sink kind was stored
 * lack `sink` (a bucket means GCS) and may lack `rows`.
 */
export function storedCsv(record: Omit<StoredCsv, "sink" | "rows"> & Partial<Pick<StoredCsv, "sink" | "rows">>): StoredCsv {
  return { ...record, sink: record.sink ?? (record.bucket ? "gcs" : "local"), rows: record.rows ?? 0 };
}

export interface CsvUpload {
  /** Human-readable destination, for errors and logs (gs://bucket/object, a file path). */
  readonly where: string;
  /** Receives the CSV bytes; must apply backpressure (return false from write while full). */
  readonly stream: Writable;
  /** After `stream` finished: publish under the final name, with the row count in its metadata. */
  commit(summary: { rows: number; bytes: number }): Promise<StoredCsv>;
  /** Removes whatever this upload wrote (best effort). Never touches the final name. */
  abort(): Promise<void>;
}

export interface CsvLink {
  url: string;
  expiresAt?: Date;
}

export interface CsvSink {
  readonly kind: "gcs" | "local";
  describe(target: CsvTarget): string;
  open(target: CsvTarget): Promise<CsvUpload>;
  /** A fresh link for clients: a signed https URL when possible, else gs://bucket/object. GCS only. */
  link?(stored: StoredCsv): Promise<CsvLink>;
  /** The file's bytes; null when the file is gone. */
  read(stored: StoredCsv): Promise<{ stream: Readable; bytes: number } | null>;
  /** Deletes a finished file (retention); true if something was removed. */
  remove(stored: StoredCsv): Promise<boolean>;
  close?(): Promise<void>;
}

/** A path or object-name segment that cannot climb out of its folder or start a new one. */
export function safeSegment(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_");
  return cleaned.slice(0, 200) || "_";
}

/**
 * `reports/<report-name>/<id>.attempt-<n>.csv`: the one naming rule both sinks share. The name is
 * the attempt's own, so an attempt that lost its lease while uploading can never overwrite the
 * file of the attempt that completed the request (nor a file removed with its request return).
 */
export function finalObjectName(target: Pick<CsvTarget, "reportName" | "requestId" | "attempt">): string {
  return `reports/${safeSegment(target.reportName)}/${safeSegment(target.requestId)}.attempt-${target.attempt}.csv`;
}

/**
 * Where an attempt writes before it is complete: outside `reports/`, so nothing listing or
 * watching the final names ever sees it (a bucket lifecycle rule on `incomplete/` can sweep
 * whatever a crashed worker leaves).
 */
export function incompleteObjectName(target: Pick<CsvTarget, "reportName" | "requestId" | "attempt">): string {
  return `incomplete/${safeSegment(target.reportName)}/${safeSegment(target.requestId)}.attempt-${target.attempt}.csv`;
}
