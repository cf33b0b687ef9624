/**
 * The report-request routes: submit (only inserts), read status and rows (optionally waiting for
 * the status to change), and the seed's per-collection aliases.
 */
import Router from "@koa/router";
import type { Context } from "koa";
import { ObjectId } from "mongodb";
import type { Config } from "../../config.ts";
import type { Database } from "../../db.ts";
import { FINAL_STATUSES, type OutputKind, type RequestDocument } from "../../requests/document.ts";
import { fingerprint } from "../../requests/fingerprint.ts";
import { forgetKey, recordKey, scopedKey } from "../../requests/idempotency.ts";
import type { RequestStore } from "../../requests/store.ts";
import type { StatusWaiter } from "../../requests/waiter.ts";
import type { ReportCatalogue } from "../../reports/registry.ts";
import { ValidationError, validateParams } from "../../reports/validation.ts";
import { readPage } from "../../results/chunks.ts";
import { parsePage, parseWait } from "../pagination.ts";
import { ProblemError } from "../problem.ts";
import { representPage, representRequest, requestPath } from "../representation.ts";

export interface ReportRouteDeps {
  config: Config;
  database: Database;
  store: RequestStore;
  catalogue: ReportCatalogue;
  waiter: StatusWaiter;
  /** Output kinds this deployment can deliver. */
  outputs: readonly OutputKind[];
}

/** Body fields that describe the request itself; every other field is a report parameter. */
const ENVELOPE_FIELDS = new Set(["report_name", "output"]);

function requireJsonObject(ctx: Context): Record<string, unknown> {
  if (ctx.request.length && !ctx.is("application/json")) {
    throw new ProblemError(415, "unsupported-media-type", "Unsupported media type", "send the report request as application/json");
  }
  const body = ctx.request.body;
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ProblemError(
      400,
      "invalid-body",
      "Invalid request body",
      'the body must be a JSON object such as {"report_name": "top-movies-per-rating"}',
    );
  }
  return body as Record<string, unknown>;
}

function invalid(errors: { field: string; message: string }[]): ProblemError {
  return new ProblemError(
    400,
    "invalid-parameters",
    "Invalid report parameters",
    errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    {
      errors,
    },
  );
}

function parseId(raw: string): ObjectId {
  if (!/^[0-9a-f]{24}$/i.test(raw)) {
    throw new ProblemError(400, "invalid-id", "Invalid report id", `${JSON.stringify(raw)} is not a report id (24 hexadecimal characters)`);
  }
  return new ObjectId(raw);
}

export function reportRoutes(deps: ReportRouteDeps): Router {
  const router = new Router();

  async function submit(ctx: Context, collection?: string): Promise<void> {
    const body = requireJsonObject(ctx);
    const reportName = body.report_name ?? ctx.params.report_name;
    if (typeof reportName !== "string" || reportName.length === 0) {
      throw invalid([{ field: "report_name", message: "required: the name of the report to run" }]);
    }
    const report = deps.catalogue.get(reportName);
    if (!report || (collection !== undefined && report.collection !== collection)) {
      const available = deps.catalogue
        .list()
        .filter((r) => collection === undefined || r.collection === collection)
        .map((r) => r.name);
      throw new ProblemError(
        404,
        "unknown-report",
        "Unknown report",
        `no report named ${JSON.stringify(reportName)}${collection ? ` on ${collection}` : ""}`,
        {
          available,
        },
      );
    }
    const output = body.output ?? "json";
    if (typeof output !== "string" || !(deps.outputs as readonly string[]).includes(output)) {
      throw invalid([{ field: "output", message: `must be one of ${deps.outputs.join(", ")}` }]);
    }
    const rawParams: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body)) if (!ENVELOPE_FIELDS.has(key)) rawParams[key] = value;
    let params: Record<string, unknown>;
    try {
      params = validateParams(rawParams, report.params);
    } catch (error) {
      if (error instanceof ValidationError) throw invalid(error.errors);
      throw error;
    }
    const page = parsePage(ctx.query, { pageSize: deps.config.pageSizeDefault, maxPageSize: deps.config.pageSizeMax });
    const request = { report_name: report.name, params, output: output as OutputKind, owner: owner(ctx) };
    const { doc, created } = await createOrReuse(ctx, request);
    const location = `${requestPath(doc._id)}?page=${page.page}&page_size=${page.pageSize}`;
    ctx.status = created ? 202 : 200;
    ctx.set("Location", location);
    if (!FINAL_STATUSES.includes(doc.status)) ctx.set("Retry-After", "1");
    ctx.body = { ...representRequest(doc), links: { self: location, status: requestPath(doc._id) } };
  }

  /**
   * The one place a request is created. An `Idempotency-Key` replays the request it named; a
   * completed identical request inside the reuse window is returned instead of recomputing
   * (`Cache-Control: no-cache` opts out); otherwise a new pending request is inserted.
   */
  async function createOrReuse(
    ctx: Context,
    request: { report_name: string; params: Record<string, unknown>; output: OutputKind; owner: string | null },
  ): Promise<{ doc: RequestDocument; created: boolean }> {
    const key = ctx.get("Idempotency-Key");
    if (key && (key.length > 255 || !/^[\x21-\x7e]+$/.test(key))) {
      throw new ProblemError(400, "invalid-idempotency-key", "Invalid Idempotency-Key", "the key must be 1–255 visible ASCII characters");
    }
    const noCache = /\bno-cache\b/i.test(ctx.get("Cache-Control"));
    if (!key && !noCache && deps.config.reuseWindowMs > 0) {
      const reusable = await deps.store.findReusable(request, new Date(Date.now() - deps.config.reuseWindowMs));
      if (reusable) {
        ctx.set("X-Reused-Result", "true");
        return { doc: reusable, created: false };
      }
    }
    if (!key) return { doc: await deps.store.submit(request), created: true };

    const recordId = scopedKey(request.owner, key);
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = new ObjectId();
      const outcome = await recordKey(deps.database.idempotency, recordId, fingerprint(request), id);
      if (outcome.kind === "new") return { doc: await deps.store.submit(request, new Date(), id), created: true };
      if (outcome.kind === "mismatch") {
        throw new ProblemError(
          422,
          "idempotency-key-reused",
          "Idempotency-Key reused",
          "this Idempotency-Key was used for a different request body",
          {
            request_id: String(outcome.requestId),
          },
        );
      }
      const existing = await deps.store.get(outcome.requestId, { owner: request.owner });
      if (existing) {
        ctx.set("Idempotent-Replayed", "true");
        return { doc: existing, created: false };
      }
      await forgetKey(deps.database.idempotency, recordId); // its request never got stored
    }
    throw new ProblemError(409, "idempotency-conflict", "Idempotency conflict", "the request for this key is being created; retry");
  }

  router.post("/v1/reports", (ctx) => submit(ctx));

  router.get("/v1/reports/:id", async (ctx) => {
    const id = parseId(ctx.params.id);
    const page = parsePage(ctx.query, { pageSize: deps.config.pageSizeDefault, maxPageSize: deps.config.pageSizeMax });
    const waitSeconds = parseWait(ctx.query, ctx.get("Prefer") || undefined, deps.config.waitMaxSeconds);
    const doc = await readWaiting(deps, id, waitSeconds * 1000, ctx, owner(ctx));
    if (!doc) throw new ProblemError(404, "report-not-found", "Report not found", `no report request with id ${String(id)}`);
    if (doc.status === "completed" && doc.result) {
      // A csv-only request stored no rows: its status points at the file instead.
      const rows =
        doc.output === "csv"
          ? []
          : await readPage(
              deps.database.results,
              { requestId: doc._id, attempt: doc.result.attempt, rowsPerChunk: doc.result.rows_per_chunk },
              page.page,
              page.pageSize,
            );
      ctx.body = representPage(doc, { page: page.page, pageSize: page.pageSize, rows });
      return;
    }
    if (!FINAL_STATUSES.includes(doc.status)) ctx.set("Retry-After", "1");
    ctx.body = representRequest(doc);
  });

  router.delete("/v1/reports/:id", async (ctx) => {
    const id = parseId(ctx.params.id);
    const doc = await deps.store.cancel(id, { owner: owner(ctx) });
    if (!doc) throw new ProblemError(404, "report-not-found", "Report not found", `no report request with id ${String(id)}`);
    if (doc.status !== "cancelled") {
      throw new ProblemError(
        409,
        "already-finished",
        "Report already finished",
        `the request is ${doc.status}; only pending or running requests can be cancelled`,
        {
          status_of_request: doc.status,
        },
      );
    }
    ctx.body = representRequest(doc);
  });

  // The seed's first proposal: POST /v1/<collection>/<report-name>, an alias of POST /v1/reports.
  router.post("/v1/:collection/:report_name", (ctx) => {
    if (ctx.params.collection === "reports") {
      throw new ProblemError(405, "method-not-allowed", "Method not allowed", "POST /v1/reports takes the report name in the body");
    }
    return submit(ctx, ctx.params.collection);
  });

  return router;
}

/**
 * Reads the request; with a wait, holds the response until the status is final or the time is
 * up. The waiter is registered before each read so that no change can slip in between.
 */
function owner(ctx: Context): string | null {
  return (ctx.state.owner as string | undefined) ?? null;
}

async function readWaiting(
  deps: ReportRouteDeps,
  id: ObjectId,
  waitMs: number,
  ctx: Context,
  owner: string | null,
): Promise<RequestDocument | null> {
  const deadline = Date.now() + waitMs;
  let aborted = false;
  ctx.req.once("close", () => {
    aborted = true;
  });
  for (;;) {
    const remaining = deadline - Date.now();
    const wait = remaining > 0 && !aborted ? deps.waiter.wait(String(id), remaining) : null;
    const doc = await deps.store.get(id, { owner });
    if (!wait) return doc;
    if (!doc || FINAL_STATUSES.includes(doc.status)) {
      wait.cancel();
      return doc;
    }
    await wait.changed;
  }
}
