/**
 * RFC 9457 problem details. Handlers throw `ProblemError`; the middleware renders every error,
 * including koa-body's parse errors and anything unexpected, as `application/problem+json`.
 */
import type { Context, Next } from "koa";
import { MongoNetworkError, MongoServerSelectionError } from "mongodb";
import type { Logger } from "../log.ts";

export const PROBLEM_BASE = "https://mongo-reports.dev/problems/";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    /** Short slug appended to PROBLEM_BASE, e.g. "invalid-parameters". */
    readonly slug: string,
    readonly title: string,
    detail?: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

const TITLES: Record<number, [string, string]> = {
  400: ["bad-request", "Bad request"],
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  413: ["payload-too-large", "Request body too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  500: ["internal", "Internal server error"],
  503: ["unavailable", "Service unavailable"],
};

export function sendProblem(ctx: Context, problem: ProblemBody, headers: Record<string, string> = {}): void {
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  ctx.type = "application/problem+json";
  ctx.body = { ...problem, instance: problem.instance ?? ctx.path };
}

function fromHttpError(status: number, message: string): ProblemBody {
  const [slug, title] = TITLES[status] ?? [`http-${status}`, message];
  return { type: PROBLEM_BASE + slug, title, status, detail: message };
}

export function problemMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      // Koa answers unmatched routes with a bare 404/405; give them the same problem shape.
      if ((ctx.status === 404 || ctx.status === 405) && ctx.body === undefined) {
        const detail = ctx.status === 404 ? `no route for ${ctx.method} ${ctx.path}` : `${ctx.method} is not allowed on ${ctx.path}`;
        sendProblem(ctx, fromHttpError(ctx.status, detail));
      }
    } catch (error) {
      if (error instanceof ProblemError) {
        sendProblem(
          ctx,
          { type: PROBLEM_BASE + error.slug, title: error.title, status: error.status, detail: error.message, ...error.extensions },
          error.headers,
        );
        return;
      }
      if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) {
        // The database is unreachable: a transient condition the client should retry, not a bug.
        log.warn("http.database_unavailable", { method: ctx.method, path: ctx.path, error });
        sendProblem(ctx, { ...fromHttpError(503, "the database is unreachable right now; retry shortly") }, { "Retry-After": "5" });
        return;
      }
      const httpError = error as { status?: number; expose?: boolean; message?: string; type?: string };
      // http-errors from koa-body / co-body: bad JSON (400), too large (413), bad charset (415).
      if (typeof httpError.status === "number" && httpError.status >= 400 && httpError.status < 500) {
        const detail =
          httpError.type === "entity.parse.failed" || httpError.status === 400
            ? `the request body is not valid JSON: ${httpError.message}`
            : (httpError.message ?? "");
        sendProblem(ctx, fromHttpError(httpError.status, detail));
        return;
      }
      log.error("http.unhandled_error", { method: ctx.method, path: ctx.path, error });
      sendProblem(ctx, fromHttpError(500, "the server failed to handle this request; it has been logged"));
    }
  };
}
