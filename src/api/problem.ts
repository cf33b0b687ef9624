/**
 * Renders every error as `application/problem+json` (RFC 9457): a thrown `ProblemError`, koa-body's
 * parse errors, an unreachable database, a route that does not exist, and anything unexpected.
 * The problem types themselves are in problems.ts.
 */
import type { Context, Next } from "koa";
import { MongoNetworkError, MongoServerSelectionError } from "mongodb";
import type { Logger } from "../log.ts";
import { PROBLEMS, ProblemError, problemBody, type ProblemType } from "./problems.ts";

export function sendProblem(
  ctx: Context,
  problem: ProblemType,
  detail: string,
  options: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
): void {
  ctx.status = problem.status;
  for (const [name, value] of Object.entries(options.headers ?? {})) ctx.set(name, value);
  ctx.type = "application/problem+json";
  ctx.body = problemBody(problem, detail, ctx.path, options.extensions);
}

/** koa-body / co-body errors (http-errors): bad JSON, too large, unsupported charset. */
function fromBodyParser(error: { status: number; message?: string; type?: string }): ProblemError | undefined {
  if (error.status === 413) return new ProblemError(PROBLEMS.payloadTooLarge, error.message ?? "the request body is too large");
  if (error.status === 415) return new ProblemError(PROBLEMS.unsupportedMediaType, error.message ?? "unsupported body encoding");
  if (error.status === 400) return new ProblemError(PROBLEMS.invalidJson, `the request body is not valid JSON: ${error.message}`);
  return undefined;
}

export function problemMiddleware(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      // No route matched: the same problem shape as every other error.
      if (ctx.status === 404 && ctx.body === undefined) sendProblem(ctx, PROBLEMS.notFound, `no route for ${ctx.method} ${ctx.path}`);
    } catch (error) {
      if (error instanceof ProblemError) {
        sendProblem(ctx, error.problem, error.message, error);
        return;
      }
      if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) {
        // The database is unreachable: a transient condition the client should retry, not a bug.
        log.warn("http.database_unavailable", { method: ctx.method, path: ctx.path, error });
        sendProblem(ctx, PROBLEMS.unavailable, "the database is unreachable right now; retry shortly", { headers: { "Retry-After": "5" } });
        return;
      }
      const httpError = error as { status?: unknown; message?: string; type?: string };
      const parsed = typeof httpError.status === "number" ? fromBodyParser(httpError as { status: number }) : undefined;
      if (parsed) {
        sendProblem(ctx, parsed.problem, parsed.message);
        return;
      }
      log.error("http.unhandled_error", { method: ctx.method, path: ctx.path, error });
      sendProblem(ctx, PROBLEMS.internal, "the server failed to handle this request; it has been logged");
    }
  };
}
