/**
 * The report-request routes: submit (only inserts), read status and rows (optionally waiting for
 * the status to change), and the design document's per-collection aliases.
 */
import type { Context } from "koa";
import { ObjectId } from "mongodb";
import type { Config } from "../../config.ts";
import type { Database } from "../../db.ts";
import type { OutputKind, RequestDocument } from "../../requests/document.ts";
import { type NamedOutput } from "../../requests/output.ts";
import { isFinal, RequestStatus } from "../../requests/status.ts";
import { fingerprint } from "../../requests/fingerprint.ts";
import { CREATION_GRACE_MS, forgetKey, recordKey, scopedKey } from "../../requests/idempotency.ts";
import { removeRequests } from "../../requests/removal.ts";
import type { RequestStore } from "../../requests/store.ts";
import type { CsvSink } from "../../results/sinks/sink.ts";
import { readWhenFinal, type StatusWaiter, type Wait } from "../../requests/waiter.ts";
import type { ReportCatalogue } from "../../reports/registry.ts";
import { ValidationError } from "../../reports/validation.ts";
import type { ReportDefinition } from "../../reports/define.ts";
import { aliasRoutes } from "./aliases.ts";
import type { Metrics } from "../../metrics/metrics.ts";
import { CallbackUrlError, checkCallbackUrl } from "../../webhooks/callback-url.ts";
import { parseSubmission, UnknownReportSubmission, type Submission, type SubmissionOptions } from "../../requests/submission.ts";
import { resultRowsPage } from "../../requests/result-rows.ts";
import { callerName, callerVisibility } from "../access.ts";
import { CallerSlots } from "../caller-slots.ts";
import { pageParameters, parsePage, parseWait, waitParameters } from "../pagination.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { unknownReportProblem } from "../unknown-report.ts";
import { anyReportBody, parametersSchemaName, perCatalogue, reportBodySchemas, requestSchemaName } from "../report-bodies.ts";
import { REPRESENTATION_SCHEMAS, representPage, representRequest, requestPath } from "../../requests/representation.ts";
import { idParameter, parseId, reportNotFound } from "../request-id.ts";
import { schemaErrors, type FieldError } from "../declared-input.ts";
import { jsonContent, ref, route, type HeaderDeclaration, type RouteDeclaration } from "../route.ts";

export interface ReportRouteDeps {
  config: Config;
  database: Database;
  store: RequestStore;
  csvSink: CsvSink;
  catalogue: ReportCatalogue;
  waiter: StatusWaiter;
  /** Output kinds this deployment can deliver. */
  outputs: readonly NamedOutput[];
  metrics?: Metrics;
}

export function requireJsonObject(ctx: Context): Record<string, unknown> {
  if (ctx.request.length && !ctx.is("application/json")) {
    throw new ProblemError(PROBLEMS.unsupportedMediaType, "send the report request as application/json");
  }
  const body = ctx.request.body;
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ProblemError(PROBLEMS.invalidBody, 'the body must be a JSON object such as {"report_name": "top-movies-per-rating"}');
  }
  return body as Record<string, unknown>;
}

export function invalid(errors: { field: string; message: string }[]): ProblemError {
  return new ProblemError(PROBLEMS.invalidParameters, errors.map((e) => `${e.field}: ${e.message}`).join("; "), { extensions: { errors } });
}

/** A `callback_url` this deployment will call (webhooks/callback-url.ts), or 400 saying why not. */
export async function checkCallback(raw: unknown, config: Pick<Config, "webhookSecret" | "webhookAllowHosts">): Promise<string> {
  if (!config.webhookSecret) {
    throw invalid([{ field: "callback_url", message: "this deployment sends no webhooks (WEBHOOK_SECRET is not set)" }]);
  }
  try {
    return await checkCallbackUrl(raw, config.webhookAllowHosts);
  } catch (error) {
    if (error instanceof CallbackUrlError) throw invalid([{ field: "callback_url", message: error.message }]);
    throw error;
  }
}

/** parseSubmission, its failures as the problems a client gets from POST /v1/reports. */
export function parseOrProblem(body: Record<string, unknown>, catalogue: ReportCatalogue, options: SubmissionOptions): Submission {
  try {
    return parseSubmission(body, catalogue, options);
  } catch (error) {
    if (error instanceof ValidationError) throw invalid(error.errors);
    if (error instanceof UnknownReportSubmission) throw unknownReportProblem(error.message, error.reportName, error.available);
    throw error;
  }
}

const STATUS = ref("ReportRequestStatus");
const retryAfter: Record<string, HeaderDeclaration> = {
  "Retry-After": { description: "Seconds before polling again; sent while the request is not final", schema: { type: "string" } },
};
const preferenceApplied: Record<string, HeaderDeclaration> = {
  "Preference-Applied": {
    description:
      "`wait=N` when the response was held (for `wait=N` or `Prefer: wait=N`); absent when it was not, e.g. over MAX_LONG_POLLS_PER_KEY",
    schema: { type: "string", pattern: "^wait=[0-9]+$" },
  },
};
const submitted: Record<string, HeaderDeclaration> = {
  Location: { description: "The request's status URL with the page asked for", schema: { type: "string" } },
  ...retryAfter,
};
const SUBMIT_PROBLEMS = [
  PROBLEMS.invalidBody,
  PROBLEMS.tooManyQueued,
  PROBLEMS.invalidParameters,
  PROBLEMS.invalidQuery,
  PROBLEMS.invalidIdempotencyKey,
  PROBLEMS.unknownReport,
  PROBLEMS.unsupportedMediaType,
  PROBLEMS.idempotencyConflict,
  PROBLEMS.idempotencyKeyReused,
];

export function reportRoutes(deps: ReportRouteDeps): RouteDeclaration[] {
  const submitParameters = [
    ...pageParameters(deps.config, "the page the returned Location points at (and the page of rows a held submission answers with)"),
    ...waitParameters(deps.config.waitMaxSeconds),
    {
      name: "Idempotency-Key",
      in: "header" as const,
      description: "replays the request this key made (1–255 visible ASCII characters)",
      schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
      problem: PROBLEMS.invalidIdempotencyKey,
    },
    {
      name: "Cache-Control",
      in: "header" as const,
      description: "no-cache: never reuse a recent identical result",
      schema: { type: "string" },
    },
  ];
  const envelope = { outputs: deps.outputs, callbacks: Boolean(deps.config.webhookSecret) };

  /**
   * A body its declared schema refuses: the submission parser's own problem when it refuses it
   * too (404 unknown-report with the names available, the report's words for a bad parameter),
   * else the schema's field errors.
   */
  function refuseReportBody(errors: FieldError[], body: unknown, target?: ReportDefinition<any>): ProblemError {
    if (body !== null && typeof body === "object" && !Array.isArray(body)) {
      let report: ReportDefinition<any>;
      try {
        report = parseOrProblem(body as Record<string, unknown>, deps.catalogue, { outputs: deps.outputs, target }).report;
      } catch (error) {
        if (error instanceof ProblemError) return error;
        throw error;
      }
      // The report is known: its own schema's errors, not every other report's (oneOf's branches).
      const own = schemaErrors(
        body,
        ref(target ? parametersSchemaName(report) : requestSchemaName(report)),
        reportBodySchemas(deps.catalogue, envelope),
      );
      if (own.length > 0) errors = own;
    }
    return invalid(errors.map((e) => (e.field === "callback_url" ? { field: e.field, message: callbackMessage(e.message) } : e)));
  }

  function callbackMessage(message: string): string {
    if (!envelope.callbacks) return "this deployment sends no webhooks (WEBHOOK_SECRET is not set)";
    return /format/.test(message) ? "not a URL: give an https URL such as https://example.com/hook" : message;
  }

  const submitResponses = {
    202: {
      description: "Accepted: the request is stored and not final yet (pending; running when the submission was held); poll the Location",
      content: jsonContent(STATUS),
      headers: { ...submitted, ...preferenceApplied },
    },
    201: {
      description:
        "Created and already final: with `wait=N` (or `Prefer: wait=N`), the request finished within the wait (with the page of rows asked for when it completed)",
      content: jsonContent(STATUS),
      headers: { ...submitted, ...preferenceApplied },
    },
    200: {
      description: "An identical recent or idempotent request, returned instead of a new one",
      content: jsonContent(STATUS),
      headers: { ...submitted, ...preferenceApplied },
    },
  };

  // Waiting reads and held submissions per key (per client address without keys), in this process. One over the cap is
  // answered at once: a wait is a preference (RFC 7240), never a reason to refuse the read itself.
  const longPolls = new CallerSlots(deps.config.maxLongPollsPerKey);

  /**
   * Submits a request for `target` (the report an alias route runs) or, without one, for the
   * report the body's report_name names (aliases resolve in parseSubmission).
   */
  async function submit(ctx: Context, target?: ReportDefinition<any>): Promise<void> {
    const body = requireJsonObject(ctx);
    const submission = parseOrProblem(body, deps.catalogue, { outputs: deps.outputs, target });
    const callbackUrl = body.callback_url === undefined ? undefined : await checkCallback(body.callback_url, deps.config);
    const page = parsePage(ctx.query, deps.config);
    const waitSeconds = parseWait(ctx.query, ctx.get("Prefer") || undefined, deps.config.waitMaxSeconds);
    const request = {
      report_name: submission.report_name,
      params: submission.params,
      output: submission.output,
      owner: callerName(ctx),
      ...(callbackUrl ? { callback_url: callbackUrl } : {}),
    };
    const release = waitSeconds > 0 ? longPolls.claim(ctx) : null;
    // The new request's id is chosen here so that the wait is registered before the insert: a
    // report that finishes before the insert's answer arrives is still heard.
    const id = new ObjectId();
    const wait = release ? deps.waiter.wait(String(id), waitSeconds * 1000) : null;
    try {
      const { doc, created } = await createOrReuse(ctx, request, id);
      if (created) deps.metrics?.submitted.inc({ report: deps.metrics.report(submission.report_name) });
      let shown = doc;
      let held = false;
      if (wait && created) {
        shown = (await readWaiting(deps, doc._id, waitSeconds * 1000, ctx, { wait, doc })) ?? doc;
        held = true;
      } else if (release && !isFinal(doc.status)) {
        // A replayed request (Idempotency-Key) may still be running: the wait asked for applies to it.
        shown = (await readWaiting(deps, doc._id, waitSeconds * 1000, ctx)) ?? doc;
        held = true;
      }
      const location = `${requestPath(doc._id)}?page=${page.page}&page_size=${page.pageSize}`;
      // 201: created and already final (a held POST); 202: created, still to run; 200: an earlier request returned.
      ctx.status = !created ? 200 : isFinal(shown.status) ? 201 : 202;
      ctx.set("Location", location);
      if (held) ctx.set("Preference-Applied", `wait=${waitSeconds}`);
      if (!isFinal(shown.status)) ctx.set("Retry-After", "1");
      const representation = isFinal(shown.status) ? await representWithRows(shown, page) : representRequest(shown);
      ctx.body = { ...representation, links: { ...(representation.links as object), self: location, status: requestPath(doc._id) } };
    } finally {
      // Also when the insert failed (a refusal, a database error): no wait outlives its submission.
      wait?.cancel();
      release?.();
    }
  }

  /** MAX_QUEUED_PER_OWNER: one key cannot keep more than this many requests waiting or running. */
  async function checkQueuedCap(owner: string | null): Promise<void> {
    const limit = deps.config.maxQueuedPerOwner;
    if (owner === null || limit === 0) return;
    const queued = await deps.store.countQueued(owner);
    if (queued < limit) return;
    throw new ProblemError(
      PROBLEMS.tooManyQueued,
      `this owner has ${queued} requests pending or running (MAX_QUEUED_PER_OWNER is ${limit}); submit again when some have finished`,
      { extensions: { limit }, headers: { "Retry-After": "10" } },
    );
  }

  /**
   * The one place a request is created. An `Idempotency-Key` replays the request it named; a
   * completed identical request inside the reuse window is returned instead of recomputing
   * (`Cache-Control: no-cache` opts out); otherwise a new pending request is inserted.
   */
  async function createOrReuse(
    ctx: Context,
    request: { report_name: string; params: Record<string, unknown>; output: OutputKind; owner: string | null; callback_url?: string },
    newId: ObjectId,
  ): Promise<{ doc: RequestDocument; created: boolean }> {
    const key = ctx.get("Idempotency-Key");
    if (key && (key.length > 255 || !/^[\x21-\x7e]+$/.test(key))) {
      throw new ProblemError(PROBLEMS.invalidIdempotencyKey, "the key must be 1–255 visible ASCII characters");
    }
    const noCache = /\bno-cache\b/i.test(ctx.get("Cache-Control"));
    // A request with a callback wants its own delivery: never answered with an earlier result.
    if (!key && !noCache && !request.callback_url && deps.config.reuseWindowMs > 0) {
      const reusable = await deps.store.findReusable(request, new Date(Date.now() - deps.config.reuseWindowMs));
      if (reusable) {
        ctx.set("X-Reused-Result", "true");
        return { doc: reusable, created: false };
      }
    }
    await checkQueuedCap(request.owner);
    if (!key) return { doc: await deps.store.submit(request, new Date(), newId), created: true };

    const recordId = scopedKey(request.owner, key);
    for (let attempt = 0; attempt < 2; attempt++) {
      // The same id on a second attempt: the first stored nothing, and a held submission waits on this id.
      const outcome = await recordKey(deps.database.idempotency, recordId, fingerprint(request), newId);
      if (outcome.kind === "new") return { doc: await deps.store.submit(request, new Date(), newId), created: true };
      if (outcome.kind === "mismatch") {
        throw new ProblemError(PROBLEMS.idempotencyKeyReused, "this Idempotency-Key was used for a different request body", {
          extensions: { request_id: String(outcome.requestId) },
        });
      }
      const existing = await recordedRequest(outcome.requestId, outcome.recordedAt, request.owner);
      if (existing) {
        ctx.set("Idempotent-Replayed", "true");
        return { doc: existing, created: false };
      }
      await forgetKey(deps.database.idempotency, recordId); // its request never got stored
    }
    throw new ProblemError(PROBLEMS.idempotencyConflict, "the request for this key is being created; retry");
  }

  /**
   * The request a key was recorded for. A concurrent retry can read the key before its creator has
   * inserted the request (the next write): until CREATION_GRACE_MS after the key was recorded, a
   * missing request is waited for rather than taken for one whose creator died.
   */
  async function recordedRequest(id: ObjectId, recordedAt: Date, owner: string | null): Promise<RequestDocument | null> {
    for (;;) {
      const doc = await deps.store.get(id, { owner });
      if (doc || Date.now() - recordedAt.getTime() >= CREATION_GRACE_MS) return doc;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function readStatus(ctx: Context): Promise<void> {
    const id = parseId(ctx.params.id);
    const page = parsePage(ctx.query, deps.config);
    const waitSeconds = parseWait(ctx.query, ctx.get("Prefer") || undefined, deps.config.waitMaxSeconds);
    const release = waitSeconds > 0 ? longPolls.claim(ctx) : null;
    let doc: RequestDocument | null;
    try {
      doc = await readWaiting(deps, id, release ? waitSeconds * 1000 : 0, ctx);
    } finally {
      release?.();
    }
    if (!doc) throw reportNotFound(id);
    // Tells the client whether it was held: an answer that did not wait, and is not final, is a cue
    // to honour Retry-After before asking again rather than to poll at once.
    if (release) ctx.set("Preference-Applied", `wait=${waitSeconds}`);
    if (!isFinal(doc.status)) ctx.set("Retry-After", "1");
    ctx.body = await representWithRows(doc, page);
  }

  /** A completed request with the page of rows asked for; any other as it stands. */
  async function representWithRows(doc: RequestDocument, page: { page: number; pageSize: number }): Promise<Record<string, unknown>> {
    if (doc.status !== RequestStatus.Completed || !doc.result) return representRequest(doc);
    const rows = await resultRowsPage(deps.database.results, doc, page.page, page.pageSize);
    return representPage(doc, { page: page.page, pageSize: page.pageSize, rows });
  }

  async function cancel(ctx: Context): Promise<void> {
    const id = parseId(ctx.params.id);
    const doc = await deps.store.cancel(id, callerVisibility(ctx));
    if (!doc) throw reportNotFound(id);
    if (doc.status !== RequestStatus.Cancelled) {
      throw new ProblemError(PROBLEMS.alreadyFinished, `the request is ${doc.status}; only pending or running requests can be cancelled`, {
        extensions: { status_of_request: doc.status },
      });
    }
    ctx.body = representRequest(doc);
  }

  async function remove(ctx: Context): Promise<void> {
    const id = parseId(ctx.params.id);
    const visibility = callerVisibility(ctx);
    // Cancelling first stops a running worker (it discards its partial rows and upload) before the record goes.
    const doc = await deps.store.cancel(id, visibility);
    if (!doc) throw reportNotFound(id);
    const { failed } = await removeRequests(deps, [doc]);
    // The store failed to remove the file: the request stays, and removing it again is safe.
    if (failed.length > 0) throw failed[0].error;
    ctx.status = 204;
  }

  return [
    route({
      method: "POST",
      path: "/v1/reports",
      operationId: "submitReport",
      summary: "Request a report (runs asynchronously)",
      tags: ["reports"],
      access: "submit",
      parameters: submitParameters,
      requestBody: { required: true, content: jsonContent(perCatalogue(deps.catalogue, () => anyReportBody(deps.catalogue))) },
      components: perCatalogue(deps.catalogue, () => ({ ...REPRESENTATION_SCHEMAS, ...reportBodySchemas(deps.catalogue, envelope) })),
      refuseBody: (errors, body) => refuseReportBody(errors, body),
      responses: submitResponses,
      problems: SUBMIT_PROBLEMS,
      handler: (ctx) => submit(ctx),
    }),
    route({
      method: "GET",
      path: "/v1/reports/:id",
      operationId: "getReport",
      summary: "A request's status; when completed, one page of its rows",
      tags: ["reports"],
      access: "read",
      parameters: [idParameter, ...pageParameters(deps.config), ...waitParameters(deps.config.waitMaxSeconds)],
      components: REPRESENTATION_SCHEMAS,
      responses: {
        200: {
          description: "The request (with rows when completed)",
          content: jsonContent(STATUS),
          headers: { ...retryAfter, ...preferenceApplied },
        },
      },
      problems: [PROBLEMS.invalidId, PROBLEMS.invalidQuery, PROBLEMS.reportNotFound],
      handler: readStatus,
    }),
    route({
      method: "POST",
      path: "/v1/reports/:id/cancel",
      operationId: "cancelReport",
      summary: "Cancel a pending or running request (the request stays, as cancelled)",
      description: "A custom method (AIP-136): cancelling twice is harmless; a completed or failed request answers 409.",
      tags: ["reports"],
      access: "submit",
      parameters: [idParameter],
      components: REPRESENTATION_SCHEMAS,
      responses: { 200: { description: "Cancelled", content: jsonContent(STATUS) } },
      problems: [PROBLEMS.invalidId, PROBLEMS.reportNotFound, PROBLEMS.alreadyFinished],
      handler: cancel,
    }),
    route({
      method: "DELETE",
      path: "/v1/reports/:id",
      operationId: "deleteReport",
      summary: "Remove a request with its rows and its CSV file (cancelling it first when it runs)",
      description: "Afterwards the request is 404 everywhere.",
      tags: ["reports"],
      access: "submit",
      parameters: [idParameter],
      responses: { 204: { description: "Removed" } },
      problems: [PROBLEMS.invalidId, PROBLEMS.reportNotFound],
      handler: remove,
    }),
    // The design document's routes (POST /v1/<collection>/<report-name> and each report's declared aliases).
    ...aliasRoutes({
      catalogue: deps.catalogue,
      outputs: deps.outputs,
      parameters: submitParameters,
      responses: submitResponses,
      problems: SUBMIT_PROBLEMS,
      submit,
      envelope,
      refuseBody: refuseReportBody,
    }),
  ];
}

/**
 * Reads the request; with a wait, holds the response until its status is final (readWhenFinal) or
 * the time is up. `first`: the document already in hand and the wait registered before it was
 * written (a held submission), instead of a first read.
 */
function readWaiting(
  deps: ReportRouteDeps,
  id: ObjectId,
  waitMs: number,
  ctx: Context,
  first?: { wait: Wait; doc: RequestDocument },
): Promise<RequestDocument | null> {
  const visibility = callerVisibility(ctx);
  // A client that goes away stops waiting at once (and gives its long-poll slot back). The
  // response's `close`, not the request's: since Node 16 a request emits `close` as soon as its
  // body has been read, which a submission's has, long before its client may leave.
  const gone = new AbortController();
  if (ctx.req.socket.destroyed) gone.abort();
  else ctx.res.once("close", () => gone.abort());
  return readWhenFinal(deps.waiter, String(id), waitMs, () => deps.store.get(id, visibility), gone.signal, first);
}
