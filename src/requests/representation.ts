/**
 * How a request document looks from outside (API responses, server-sent events, webhook bodies):
 * stable field names, ISO dates, links, and no internal bookkeeping (lease owners, chunk layout).
 * Beside the document it shows, so every layer that shows a request can reach it.
 */
import { READ_PREFERENCE_MODES } from "../config/report-reads.ts";
import { ObjectId, type Document } from "mongodb";
import { PROGRESS_PHASES, type RequestDocument } from "./document.ts";
import { outputPlan, outputSchema } from "./output.ts";
import { ERROR_CODES, RequestStatus, STATUSES } from "./status.ts";
import { FILE_FORMATS } from "../results/formats/all.ts";
import { FORMATS } from "../results/formats/format.ts";
import type { JsonSchema } from "../reports/json-schema.ts";

export function requestPath(id: unknown): string {
  return `/v1/reports/${String(id)}`;
}

function pageLink(id: unknown, page: number, pageSize: number): string {
  return `${requestPath(id)}?page=${page}&page_size=${pageSize}`;
}

export function representRequest(doc: RequestDocument): Record<string, unknown> {
  const durationMs =
    doc.started_at instanceof Date && doc.finished_at instanceof Date ? doc.finished_at.getTime() - doc.started_at.getTime() : undefined;
  return {
    id: String(doc._id),
    report_name: doc.report_name,
    status: doc.status,
    output: doc.output ?? "json",
    params: doc.params ?? {},
    // A request inserted straight into MongoDB gets its report_date when a worker claims it; until then its id's time stands in.
    report_date: doc.report_date ?? (doc._id instanceof ObjectId ? doc._id.getTimestamp() : undefined),
    attempts: doc.attempts ?? 0,
    ...(typeof doc.max_attempts === "number" ? { max_attempts: doc.max_attempts } : {}),
    ...(doc.started_at ? { started_at: doc.started_at } : {}),
    ...(doc.finished_at ? { finished_at: doc.finished_at } : {}),
    ...(durationMs === undefined ? {} : { duration_ms: durationMs }),
    ...(doc.error ? { error: doc.error } : {}),
    ...representProgress(doc),
    ...(doc.callback
      ? { callback: { state: doc.callback.state, attempts: doc.callback.attempts, last_status: doc.callback.last_status ?? null } }
      : {}),
    ...(doc.definition_version === undefined ? {} : { definition_version: doc.definition_version }),
    ...(doc.read ? { read: doc.read } : {}),
    ...(doc.schedule_id ? { schedule_id: String(doc.schedule_id), scheduled_for: doc.scheduled_for } : {}),
    ...representCsv(doc),
    ...representFiles(doc),
    links: { self: requestPath(doc._id), ...fileLinks(doc) },
  };
}

function downloadPath(id: unknown, format: string): string {
  return `${requestPath(id)}/download?format=${format}`;
}

/** `csv` (GET /v1/reports/:id/csv, as ever) and `download_<format>` for every stored file. */
function fileLinks(doc: RequestDocument): Record<string, string> {
  const links: Record<string, string> = {};
  if (doc.result?.csv) links.csv = `${requestPath(doc._id)}/csv`;
  for (const file of doc.result?.files ?? []) links[`download_${file.format}`] = downloadPath(doc._id, file.format);
  return links;
}

/** `files`: each stored file with its format, size, row count and digest, and where to download it. */
function representFiles(doc: RequestDocument): Record<string, unknown> {
  const files = doc.result?.files;
  if (!files || files.length === 0) return {};
  const now = Date.now();
  return {
    files: files.map((file) => {
      const signedValid = file.url && file.url_expires_at instanceof Date && file.url_expires_at.getTime() > now;
      return {
        format: file.format,
        content_type: FILE_FORMATS[file.format]?.contentType ?? "application/octet-stream",
        rows: file.rows,
        bytes: file.bytes,
        sha256: file.sha256,
        download: downloadPath(doc._id, file.format),
        ...(file.bucket
          ? { bucket: file.bucket, object: file.object, gcs_link: signedValid ? file.url : `gs://${file.bucket}/${file.object}` }
          : {}),
        ...(signedValid ? { link_expires_at: file.url_expires_at } : {}),
      };
    }),
  };
}

/**
 * `progress` while the request is unfinished: pending reads as the `queued` phase (since it was
 * submitted or became due again); running shows what the worker last wrote with its heartbeat.
 */
function representProgress(doc: RequestDocument, now = new Date()): Record<string, unknown> {
  if (doc.status === RequestStatus.Pending) {
    const since = doc.not_before instanceof Date ? doc.not_before : doc.report_date;
    if (!(since instanceof Date)) return { progress: { phase: "queued", rows: 0 } };
    return { progress: { phase: "queued", rows: 0, phase_started_at: since, phase_ms: Math.max(0, now.getTime() - since.getTime()) } };
  }
  if (doc.status === RequestStatus.Running && doc.progress) return { progress: doc.progress };
  return {};
}

/**
 * The CSV of a completed csv/both request: `csv` (where and how big) and, for GCS, the design document's
 * `gcs_link`: the V4 signed URL made at completion while it is valid, else `gs://bucket/object`.
 * `links.csv` (GET /v1/reports/:id/csv) always works: it serves a local file, or redirects to a
 * freshly signed URL.
 */
function representCsv(doc: RequestDocument): Record<string, unknown> {
  const csv = doc.result?.csv;
  if (!csv) return {};
  const rows = csv.rows ?? doc.result?.row_count;
  const view = { ...(csv.bucket ? { bucket: csv.bucket } : {}), object: csv.object, bytes: csv.bytes, rows };
  if (!csv.bucket) return { csv: view };
  const signedValid = csv.url && csv.url_expires_at instanceof Date && csv.url_expires_at.getTime() > Date.now();
  return {
    csv: signedValid ? { ...view, link_expires_at: csv.url_expires_at } : view,
    gcs_link: signedValid ? csv.url : `gs://${csv.bucket}/${csv.object}`,
  };
}

export interface PageView {
  page: number;
  pageSize: number;
  rows: Document[];
}

/** The completed request with one page of rows and the links to walk the others. */
export function representPage(doc: RequestDocument, view: PageView): Record<string, unknown> {
  const base = representRequest(doc);
  // A files-only request has no rows to page through: its result is the files.
  if (!outputPlan(doc.output).rows) return { ...base, columns: doc.result?.columns ?? [], total_rows: doc.result?.row_count ?? 0 };
  const totalRows = doc.result?.row_count ?? 0;
  const totalPages = Math.ceil(totalRows / view.pageSize);
  const links: Record<string, string> = {
    self: pageLink(doc._id, view.page, view.pageSize),
    first: pageLink(doc._id, 0, view.pageSize),
    last: pageLink(doc._id, Math.max(0, totalPages - 1), view.pageSize),
  };
  if (view.page + 1 < totalPages) links.next = pageLink(doc._id, view.page + 1, view.pageSize);
  Object.assign(links, fileLinks(doc));
  if (view.page > 0) links.prev = pageLink(doc._id, Math.min(view.page - 1, Math.max(0, totalPages - 1)), view.pageSize);
  return {
    ...base,
    columns: doc.result?.columns ?? [],
    page: view.page,
    page_size: view.pageSize,
    total_rows: totalRows,
    total_pages: totalPages,
    rows: view.rows,
    links,
  };
}

const dateTime = { type: "string", format: "date-time" };
const count = { type: "integer", minimum: 0 };

/**
 * The schemas of what representRequest and representPage build, field for field; closed
 * (additionalProperties: false) so a field added above without its schema fails the API tests.
 */
export const REPRESENTATION_SCHEMAS: Record<string, JsonSchema> = {
  ReportRequestStatus: {
    type: "object",
    description: "A report request; when completed with json rows, one page of rows with paging links",
    additionalProperties: false,
    properties: {
      id: { type: "string", pattern: "^[0-9a-f]{24}$" },
      report_name: { type: "string" },
      status: { type: "string", enum: [...STATUSES] },
      output: outputSchema(),
      params: { type: "object" },
      report_date: dateTime,
      attempts: count,
      max_attempts: { type: "integer", minimum: 1 },
      started_at: dateTime,
      finished_at: dateTime,
      duration_ms: count,
      definition_version: { type: "integer", minimum: 1, description: "the data-defined report's definition version the run used" },
      read: {
        type: "object",
        description: "where the report's aggregation read (REPORT_READ_PREFERENCE and its tags and staleness bound)",
        properties: {
          preference: { type: "string", enum: [...READ_PREFERENCE_MODES] },
          tags: { type: "array", items: { type: "object", additionalProperties: { type: "string" } } },
          max_staleness_s: { type: "integer", minimum: 90 },
        },
        required: ["preference"],
      },
      schedule_id: { type: "string", pattern: "^[0-9a-f]{24}$", description: "the schedule that fired this request" },
      scheduled_for: { ...dateTime, description: "the schedule tick this request was fired for" },
      error: {
        type: "object",
        description: "why the request ended in error",
        properties: { code: { type: "string", enum: [...ERROR_CODES] }, message: { type: "string" }, details: {} },
        required: ["code", "message"],
      },
      callback: {
        type: "object",
        description: "the webhook of the final status: pending (until delivered), delivered, or failed once retries ran out",
        additionalProperties: false,
        properties: {
          state: { type: "string", enum: ["pending", "delivered", "failed"] },
          attempts: count,
          last_status: { type: ["integer", "null"], description: "the receiver's HTTP status on the last attempt (null: no answer)" },
        },
        required: ["state", "attempts", "last_status"],
      },
      progress: {
        type: "object",
        description: "while pending (phase queued) or running: what the job is doing, as last written with its heartbeat",
        additionalProperties: false,
        properties: {
          phase: { type: "string", enum: [...PROGRESS_PHASES] },
          rows: count,
          bytes: count,
          phase_started_at: dateTime,
          phase_ms: count,
          updated_at: dateTime,
        },
        required: ["phase", "rows"],
      },
      csv: {
        type: "object",
        description: "the CSV file of a csv/both request: GCS bucket and object, or the local file",
        additionalProperties: false,
        properties: { bucket: { type: "string" }, object: { type: "string" }, bytes: count, rows: count, link_expires_at: dateTime },
        required: ["object", "bytes"],
      },
      gcs_link: { type: "string", description: "a V4 signed URL while valid, else gs://bucket/object" },
      files: {
        type: "array",
        description: "every stored file: what it holds (rows, bytes, SHA-256) and where to download it",
        items: {
          type: "object",
          additionalProperties: false,
          properties: {
            format: { type: "string", enum: [...FORMATS] },
            content_type: { type: "string" },
            rows: count,
            bytes: count,
            sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
            download: { type: "string", description: "GET it: the file with Content-Length and Repr-Digest" },
            bucket: { type: "string" },
            object: { type: "string" },
            gcs_link: { type: "string", description: "a V4 signed URL while valid, else gs://bucket/object" },
            link_expires_at: dateTime,
          },
          required: ["format", "content_type", "rows", "bytes", "download"],
        },
      },
      columns: { type: "array", items: { type: "string" } },
      page: count,
      page_size: { type: "integer", minimum: 1 },
      total_rows: count,
      total_pages: count,
      rows: { type: "array", items: { type: "object" } },
      links: {
        type: "object",
        additionalProperties: false,
        properties: Object.fromEntries(
          ["self", "status", "csv", "first", "last", "next", "prev", ...FORMATS.map((format) => `download_${format}`)].map((name) => [
            name,
            { type: "string" },
          ]),
        ),
        required: ["self"],
      },
    },
    required: ["id", "report_name", "status", "output", "params", "report_date", "attempts", "links"],
  },
};
