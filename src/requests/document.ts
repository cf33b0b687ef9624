/**
 * The request document (`report_requests`): its type, and the struct that checks a document a
 * worker has claimed. Documents may come from the API or straight from other systems, which may
 * write only `report_name`, `params` and `status: "pending"`; everything else has a default.
 */
import type { ReportRead } from "../config/report-reads.ts";
import type { Document, ObjectId } from "mongodb";
import { array, defaulted, enums, optional, record, string, type, union, unknown, size, type Infer } from "superstruct";
import type { FormatName } from "../results/formats/format.ts";
import { OUTPUTS, OUTPUT_PARTS, type OutputKind } from "./output.ts";
import type { RequestErrorCode, RequestStatus } from "./status.ts";

/** json: rows paged through the API; csv, ndjson, xlsx, parquet: one stored file; both; or a list (see output.ts). */
export { OUTPUTS, type OutputKind } from "./output.ts";

export interface Lease {
  owner: string;
  until: Date;
  /** Marks the documents one batch claim took, to read them back (see RequestStore.claimPendingBatch). */
  token?: ObjectId;
}

/**
 * One stored file of a completed request, as the commit recorded it: what it is (format, rows,
 * bytes, SHA-256 of its bytes) and, for clients, where (`bucket`/`object` are never used to find
 * it again: see results/locations.ts).
 */
export interface StoredFileRecord {
  format: FormatName;
  sink: "gcs" | "local";
  bucket?: string;
  object: string;
  rows: number;
  bytes: number;
  /** Lower-case hex. */
  sha256: string;
  url?: string;
  url_expires_at?: Date;
}

export interface ReportResult {
  row_count: number;
  columns: string[];
  /** Which attempt wrote the rows: a page read takes chunks of that attempt only. */
  attempt: number;
  rows_per_chunk: number;
  /** All the rows, when they were few enough to be stored here instead of in chunks (see INLINE_ROWS_MAX_BYTES). */
  rows?: Document[];
  /** Every stored file, one per format (see StoredFileRecord). */
  files?: StoredFileRecord[];
  /** The CSV file (outputs csv and both) as it was recorded before `files`, kept for GET /v1/reports/:id/csv and older clients. */
  csv?: { sink?: "gcs" | "local"; bucket?: string; object: string; bytes: number; rows?: number; url?: string; url_expires_at?: Date };
}

/** What a running job is doing: waiting for the first row, writing rows, or finishing the CSV upload. */
export const PROGRESS_PHASES = ["queued", "aggregating", "writing", "uploading"] as const;
export type ProgressPhase = (typeof PROGRESS_PHASES)[number];

/** Written by the worker with its lease heartbeat (at most once a second); never a status change. */
export interface RequestProgress {
  phase: ProgressPhase;
  /** Rows written so far (to chunks and/or the CSV). */
  rows: number;
  /** CSV bytes handed to the sink so far (CSV outputs only). */
  bytes?: number;
  phase_started_at: Date;
  /** Time spent in the phase when the progress was written. */
  phase_ms: number;
  updated_at: Date;
}

/**
 * A webhook for the request's final status (see src/webhooks): the request document is its own
 * outbox, so the final status write and "a delivery is due" are one atomic write.
 */
export interface RequestCallback {
  url: string;
  /** Stable across attempts (Standard Webhooks `webhook-id`): receivers drop duplicates by it. */
  webhook_id: string;
  /** pending until delivered, or failed once retries ran out. */
  state: "pending" | "delivered" | "failed";
  /** Delivery attempts started (a claim counts one). */
  attempts: number;
  /** Not claimed again before this (backoff, or the lease of the attempt in flight). */
  next_at: Date;
  /** Who holds the attempt in flight: its result is written only while this still matches. */
  owner?: string | null;
  /** The receiver's HTTP status of the last attempt (null: no answer). */
  last_status?: number | null;
  last_error?: string | null;
  delivered_at?: Date | null;
}

export interface RequestError {
  /** Machine-readable: one of RequestErrorCode (status.ts). */
  code: RequestErrorCode;
  message: string;
  details?: unknown;
}

export interface RequestDocument {
  _id: ObjectId;
  report_name: string;
  params: Record<string, unknown>;
  output: OutputKind;
  status: RequestStatus;
  report_date: Date;
  attempts: number;
  max_attempts?: number;
  /**
   * Not claimed before this time: the submission time for a new request, the end of its backoff
   * for a retry. Absent on Mongo-native inserts (claimable at once).
   */
  not_before?: Date | null;
  lease: Lease | null;
  started_at?: Date | null;
  finished_at?: Date | null;
  result?: ReportResult | null;
  error?: RequestError | null;
  callback?: RequestCallback | null;
  /** Set while running (see RequestProgress); left as the last snapshot once finished. */
  progress?: RequestProgress | null;
  /** Hash of report, output and params (see fingerprint.ts): finds identical requests. */
  fingerprint?: string;
  /** The API key name that submitted it, when access control is on; others cannot see it. */
  owner?: string | null;
  /** The schedule that fired this request, and the tick it fired for. */
  schedule_id?: ObjectId;
  scheduled_for?: Date;
  /** The schedule tick's identity (schedules/tick-key.ts), unique: one request per tick. */
  tick_key?: string;
  /** A data-defined report's definition version the run used (set by the worker). */
  definition_version?: number;
  /** The service's HMAC over id, owner, callback and schedule (seal.ts): what tells its requests from an integration's documents. */
  seal?: string;
  /** Where the last attempt's report aggregation read (REPORT_READ_PREFERENCE, tags, staleness; set by the worker). */
  read?: ReportRead;
}

/**
 * The envelope of a claimed document, checked before anything runs. `type()` (not `object()`)
 * because the document also carries the bookkeeping fields above.
 */
export const ClaimedEnvelope = type({
  report_name: size(string(), 1, 200),
  params: defaulted(record(string(), unknown()), {}),
  output: defaulted(union([enums(OUTPUTS), size(array(enums(OUTPUT_PARTS)), 1, OUTPUT_PARTS.length)]), "json"),
  max_attempts: optional(unknown()),
});
export type ClaimedEnvelope = Infer<typeof ClaimedEnvelope>;
