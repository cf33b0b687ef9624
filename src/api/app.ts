/**
 * The Koa application: problem+json errors, access log, body parsing, and the routes. Every route
 * is a declaration (route.ts) listed here once; the router serves them and /openapi.json is built
 * from the same list. Building the app needs an open context; it never touches the database itself.
 */
import Koa from "koa";
import { koaBody } from "koa-body";
import type { AppContext } from "../context.ts";
import type { OutputKind } from "../requests/document.ts";
import { StatusWaiter } from "../requests/waiter.ts";
import { accessGuard } from "./access.ts";
import { problemMiddleware } from "./problem.ts";
import { rateLimitGuard } from "./rate-limit.ts";
import type { RouteDeclaration } from "./route.ts";
import { routeMiddleware } from "./router.ts";
import { csvRoutes } from "./routes/csv.ts";
import { definitionRoutes } from "./routes/definitions.ts";
import { healthRoutes } from "./routes/health.ts";
import { historyRoutes } from "./routes/history.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { reportRoutes } from "./routes/reports.ts";

export interface ApiApp {
  koa: Koa;
  waiter: StatusWaiter;
  /** Every route the app serves, as declared. */
  routes: readonly RouteDeclaration[];
  close(): void;
}

export function createApp(context: AppContext, options: { outputs?: readonly OutputKind[] } = {}): ApiApp {
  const { config, log } = context;
  // Every context has a CSV sink (GCS, or the local directory), so every output is deliverable.
  const outputs = options.outputs ?? ["json", "csv", "both"];
  const waiter = new StatusWaiter(context.events);
  const routes: RouteDeclaration[] = [
    ...healthRoutes(context.database),
    ...definitionRoutes(context.catalogue),
    ...openApiRoutes(() => routes, { publicBaseUrl: config.publicBaseUrl }),
    ...historyRoutes(context),
    ...reportRoutes({ ...context, waiter, outputs }),
    ...csvRoutes(context),
  ];
  const koa = new Koa();
  koa.proxy = true;
  koa.use(async (ctx, next) => {
    const started = Date.now();
    await next();
    log.info("http.request", { method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started });
  });
  koa.use(problemMiddleware(log));
  const parseBody = koaBody({
    json: true,
    jsonStrict: true,
    urlencoded: false,
    text: false,
    multipart: false,
    jsonLimit: config.bodyLimitBytes,
  });
  // Guards run in this order for the matched route: who calls (access), then how often (rate limit).
  const guards = [accessGuard(config.apiKeys), rateLimitGuard(context.database, config.rateLimitPerMinute)];
  koa.use(routeMiddleware(routes, guards, parseBody));
  // Koa's default listener prints stack traces as text; keep logs one JSON object per line.
  koa.on("error", (error) => log.warn("http.error", { error }));
  return { koa, waiter, routes, close: () => waiter.close() };
}
