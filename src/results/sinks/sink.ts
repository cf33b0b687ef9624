/**
 * Where CSV files go. A sink hands out one upload per attempt; the upload receives bytes with
 * backpressure and only becomes visible under its final name on `commit`, so a failed or
 * abandoned attempt never leaves a file that looks complete. A sink owns everything about its
 * files: writing, the record stored in the request (`StoredCsv`, with the sink's kind), links,
 * reads and removal; adding one means implementing this interface and choosing it in `open.ts`.
 * Every sink passes the same conformance test (test/integration/csv-sinks.test.ts).
 */
import type { Readable, Writable } from "node:stream";
import type { ObjectId } from "mongodb";
import type { StoredFile } from "../locations.ts";

export interface CsvTarget {
  requestId: ObjectId;
  reportName: string;
  attempt: number;
  columns: readonly string[];
  /** The file's format (its extension, see locations.ts); csv when absent. */
  ext?: string;
  /** The file's Content-Type where the store keeps one (GCS); CSV's when absent. */
  contentType?: string;
}

/**
 * What a finished CSV's commit records in the request's result (`result.csv`), for clients to
 * read. Its `bucket` and `object` are never used to find the file again: see locations.ts.
 */
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
 * Which kind of store a `result.csv` record says its file is in. Records written before the sink
 * kind was stored lack `sink`: a bucket means GCS.
 */
export function recordedSinkKind(record: { sink?: unknown; bucket?: unknown }): StoredCsv["sink"] {
  if (record.sink === "gcs" || record.sink === "local") return record.sink;
  return record.bucket ? "gcs" : "local";
}

export interface CsvUpload {
  /** Human-readable destination, for errors and logs (gs://bucket/object, a file path). */
  readonly where: string;
  /** Receives the CSV bytes; must apply backpressure (return false from write while full). */
  readonly stream: Writable;
  /** After `stream` finished: publish under the final name, with the row count in its metadata. */
  commit(summary: { rows: number; bytes: number; sha256?: string }): Promise<StoredCsv>;
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
  link?(file: StoredFile): Promise<CsvLink>;
  /** The file's bytes; null when the file is gone. */
  read(file: StoredFile): Promise<{ stream: Readable; bytes: number } | null>;
  /** Deletes a finished file (removal, retention); true if something was removed. */
  remove(file: StoredFile): Promise<boolean>;
  close?(): Promise<void>;
}
