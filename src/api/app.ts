/**
 * The Koa application: body parsing, problem+json errors, access log, and the routes. Building it
 * needs an open context; it never touches the database itself.
 */
import Koa from "koa";
import { koaBody } from "koa-body";
import type { AppContext } from "../context.ts";
import type { OutputKind } from "../requests/document.ts";
import { StatusWaiter } from "../requests/waiter.ts";
import { apiKeyAuth } from "./auth.ts";
import { problemMiddleware } from "./problem.ts";
import { rateLimit } from "./rate-limit.ts";
import { definitionRoutes } from "./routes/definitions.ts";
import { healthRoutes } from "./routes/health.ts";
import { historyRoutes } from "./routes/history.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { reportRoutes } from "./routes/reports.ts";
import { csvRoutes } from "./routes/csv.ts";

export interface ApiApp {
  koa: Koa;
  waiter: StatusWaiter;
  close(): void;
}

export function createApp(context: AppContext, options: { outputs?: readonly OutputKind[] } = {}): ApiApp {
  const { config, log } = context;
  // Every context has a CSV sink (GCS, or the local directory), so every output is deliverable.
  const outputs = options.outputs ?? ["json", "csv", "both"];
  const koa = new Koa();
  koa.proxy = true;
  const waiter = new StatusWaiter(context.events);
  koa.use(async (ctx, next) => {
    const started = Date.now();
    await next();
    log.info("http.request", { method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started });
  });
  koa.use(problemMiddleware(log));
  // Requests and results belong to whoever asked; discovery and health stay open.
  const isRequestRoute = (path: string) => path.startsWith("/v1/") && !path.startsWith("/v1/report-definitions");
  koa.use(apiKeyAuth(config.apiKeys, isRequestRoute));
  koa.use(rateLimit(config.rateLimitPerMinute, isRequestRoute));
  koa.use(koaBody({ json: true, jsonStrict: true, urlencoded: false, text: false, multipart: false, jsonLimit: config.bodyLimitBytes }));
  for (const router of [
    healthRoutes(context.database),
    definitionRoutes(context.catalogue),
    openApiRoutes(context.catalogue, { outputs, publicBaseUrl: context.config.publicBaseUrl }),
    historyRoutes(context),
    reportRoutes({ ...context, waiter, outputs }),
    csvRoutes(context),
  ]) {
    koa.use(router.routes());
    koa.use(router.allowedMethods());
  }
  // Koa's default listener prints stack traces as text; keep logs one JSON object per line.
  koa.on("error", (error) => log.warn("http.error", { error }));
  return { koa, waiter, close: () => waiter.close() };
}
