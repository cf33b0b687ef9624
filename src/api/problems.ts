/**
 * The one table of problem types the API answers with (RFC 9457): slug, title, status and the
 * extension members each carries. Routes throw `new ProblemError(PROBLEMS.x, detail, …)`; the
 * OpenAPI document describes each route's error responses from the same entries, so a problem
 * body and its schema cannot drift apart.
 */
import type { JsonSchema } from "../reports/json-schema.ts";
import { ERROR_CODES, STATUSES } from "../requests/status.ts";

export const PROBLEM_BASE = "https://mongo-reports.dev/problems/";

export interface ProblemType {
  /** Appended to PROBLEM_BASE to make the `type` URI. */
  slug: string;
  title: string;
  status: number;
  /** Extension members this type adds to the body, as JSON Schema; `required` lists those always present. */
  extensions?: Record<string, JsonSchema>;
  required?: readonly string[];
}

const fieldErrors: JsonSchema = {
  type: "array",
  description: "every bad field, with what is wrong with it",
  items: {
    type: "object",
    properties: { field: { type: "string" }, message: { type: "string" } },
    required: ["field", "message"],
  },
};
const statusOfRequest: JsonSchema = { type: "string", enum: [...STATUSES] };
const requestError: JsonSchema = {
  type: "object",
  properties: { code: { type: "string", enum: [...ERROR_CODES] }, message: { type: "string" }, details: {} },
  required: ["code", "message"],
};

/** A 429 for a cap on what one owner or key may have: `limit` says how many, `limitMeans` which setting. */
function capReached(slug: string, title: string, limitMeans: string): ProblemType {
  return { slug, title, status: 429, extensions: { limit: { type: "integer", description: limitMeans } }, required: ["limit"] };
}

function define<T extends Record<string, ProblemType>>(table: T): T {
  return table;
}

export const PROBLEMS = define({
  // 400
  invalidJson: { slug: "bad-request", title: "Bad request", status: 400 },
  invalidBody: { slug: "invalid-body", title: "Invalid request body", status: 400, extensions: { errors: fieldErrors } },
  invalidParameters: {
    slug: "invalid-parameters",
    title: "Invalid report parameters",
    status: 400,
    extensions: { errors: fieldErrors },
    required: ["errors"],
  },
  invalidQuery: {
    slug: "invalid-query",
    title: "Invalid query parameter",
    status: 400,
    extensions: { errors: fieldErrors },
    required: ["errors"],
  },
  invalidId: { slug: "invalid-id", title: "Invalid report id", status: 400, extensions: { errors: fieldErrors } },
  invalidHeader: {
    slug: "invalid-header",
    title: "Invalid header",
    status: 400,
    extensions: { errors: fieldErrors },
    required: ["errors"],
  },
  invalidIdempotencyKey: {
    slug: "invalid-idempotency-key",
    title: "Invalid Idempotency-Key",
    status: 400,
    extensions: { errors: fieldErrors },
  },
  invalidScheduleId: { slug: "invalid-schedule-id", title: "Invalid schedule id", status: 400, extensions: { errors: fieldErrors } },
  invalidVersion: { slug: "invalid-version", title: "Invalid version", status: 400, extensions: { errors: fieldErrors } },
  // 401, 403
  unauthorized: { slug: "unauthorized", title: "Unauthorized", status: 401 },
  forbidden: {
    slug: "forbidden",
    title: "Forbidden",
    status: 403,
    extensions: { scope: { type: "string", enum: ["read", "submit", "admin"], description: "the scope this route needs" } },
    required: ["scope"],
  },
  crossSite: { slug: "cross-site", title: "Cross-site request refused", status: 403 },
  // 404
  notFound: { slug: "not-found", title: "Not found", status: 404, extensions: { errors: fieldErrors } },
  reportNotFound: { slug: "report-not-found", title: "Report not found", status: 404 },
  unknownReport: {
    slug: "unknown-report",
    title: "Unknown report",
    status: 404,
    extensions: {
      available: { type: "array", items: { type: "string" }, description: "the report names that exist here" },
      did_you_mean: { type: "string", description: "the available name nearest to the one given, when it looks like a typo of it" },
    },
    required: ["available"],
  },
  // 409, not 404: the request exists; its output (json) conflicts with asking for its file.
  noCsv: { slug: "no-csv", title: "No CSV for this report", status: 409 },
  // 409 like no-csv: the request exists; the format asked for is not among the files it stored.
  noFile: {
    slug: "no-file",
    title: "No file of that format",
    status: 409,
    extensions: { formats: { type: "array", items: { type: "string" }, description: "the formats the request stored" } },
    required: ["formats"],
  },
  scheduleNotFound: { slug: "schedule-not-found", title: "Schedule not found", status: 404 },
  versionNotFound: { slug: "version-not-found", title: "Version not found", status: 404 },
  // 405
  methodNotAllowed: { slug: "method-not-allowed", title: "Method not allowed", status: 405 },
  // 409
  alreadyFinished: {
    slug: "already-finished",
    title: "Report already finished",
    status: 409,
    extensions: { status_of_request: statusOfRequest },
    required: ["status_of_request"],
  },
  csvNotReady: {
    slug: "csv-not-ready",
    title: "CSV not available",
    status: 409,
    extensions: { status_of_request: statusOfRequest, error: requestError },
    required: ["status_of_request"],
  },
  csvElsewhere: { slug: "csv-elsewhere", title: "CSV stored elsewhere", status: 409 },
  fileNotReady: {
    slug: "file-not-ready",
    title: "File not available",
    status: 409,
    extensions: { status_of_request: statusOfRequest, error: requestError },
    required: ["status_of_request"],
  },
  fileElsewhere: { slug: "file-elsewhere", title: "File stored elsewhere", status: 409 },
  csvNotDownloadable: {
    slug: "csv-not-downloadable",
    title: "CSV has no download link",
    status: 409,
    extensions: { gcs_link: { type: "string" } },
    required: ["gcs_link"],
  },
  idempotencyConflict: { slug: "idempotency-conflict", title: "Idempotency conflict", status: 409 },
  codeDefinedReport: { slug: "code-defined-report", title: "Code-defined report", status: 409 },
  // 410
  csvGone: { slug: "csv-gone", title: "CSV no longer available", status: 410 },
  fileGone: { slug: "file-gone", title: "File no longer available", status: 410 },
  // 413, 415
  payloadTooLarge: { slug: "payload-too-large", title: "Request body too large", status: 413 },
  unsupportedMediaType: { slug: "unsupported-media-type", title: "Unsupported media type", status: 415 },
  // 422
  invalidDefinition: {
    slug: "invalid-definition",
    title: "Invalid report definition",
    status: 422,
    extensions: {
      name: { type: "string", description: "the definition's name, when it has one" },
      errors: { type: "array", items: { type: "string" }, description: "every reason the definition is refused" },
    },
    required: ["errors"],
  },
  invalidSchedule: {
    slug: "invalid-schedule",
    title: "Invalid schedule",
    status: 422,
    extensions: { errors: fieldErrors },
    required: ["errors"],
  },
  idempotencyKeyReused: {
    slug: "idempotency-key-reused",
    title: "Idempotency-Key reused",
    status: 422,
    extensions: { request_id: { type: "string" } },
    required: ["request_id"],
  },
  // 429
  rateLimited: { slug: "rate-limited", title: "Too many requests", status: 429 },
  tooManyQueued: capReached(
    "too-many-queued",
    "Too many queued requests",
    "MAX_QUEUED_PER_OWNER: the pending plus running requests one owner may have",
  ),
  tooManyStreams: capReached("too-many-streams", "Too many open event streams", "MAX_STREAMS_PER_KEY: the streams one key may hold open"),
  tooManySchedules: capReached("too-many-schedules", "Too many schedules", "SCHEDULES_PER_OWNER: the schedules one owner may have"),
  // 5xx
  internal: { slug: "internal", title: "Internal server error", status: 500 },
  notImplemented: { slug: "not-implemented", title: "Not implemented", status: 501 },
  unavailable: { slug: "unavailable", title: "Service unavailable", status: 503 },
});

/** A problem a handler or middleware throws; the problem middleware renders it. */
export class ProblemError extends Error {
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(
    readonly problem: ProblemType,
    detail: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
  get status(): number {
    return this.problem.status;
  }
}

/** The body the problem middleware sends for `error` at `instance`. */
export function problemBody(problem: ProblemType, detail: string, instance: string, extensions: Record<string, unknown> = {}) {
  return { type: PROBLEM_BASE + problem.slug, title: problem.title, status: problem.status, detail, instance, ...extensions };
}

/** The component name of a problem type's schema in the OpenAPI document. */
export function problemSchemaName(problem: ProblemType): string {
  return `Problem.${problem.slug}`;
}

/** RFC 9457 members every problem has. */
export const PROBLEM_SCHEMA: JsonSchema = {
  type: "object",
  description: "RFC 9457 problem details",
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    instance: { type: "string" },
  },
  required: ["type", "title", "status", "detail", "instance"],
};

/** The schema of one problem type: the common members, its exact type, status and extensions. */
export function problemTypeSchema(problem: ProblemType): JsonSchema {
  return {
    allOf: [{ $ref: "#/components/schemas/Problem" }],
    description: problem.title,
    properties: {
      type: { const: PROBLEM_BASE + problem.slug },
      title: { const: problem.title },
      status: { const: problem.status },
      ...problem.extensions,
    },
    required: ["type", ...(problem.required ?? [])],
  };
}
