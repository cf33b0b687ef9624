/**
 * The Koa application: problem+json errors, access log, body parsing, and the routes. Every route
 * is a declaration (route.ts) listed here once; the router serves them and /openapi.json is built
 * from the same list. Building the app needs an open context; it never touches the database itself.
 */
import Koa from "koa";
import { koaBody } from "koa-body";
import type { AppContext } from "../context.ts";
import { OUTPUTS, type NamedOutput } from "../requests/output.ts";
import { StatusWaiter } from "../requests/waiter.ts";
import { RequestWatch } from "../requests/watch.ts";
import { accessGuard } from "./access.ts";
import { consoleAndDocs } from "./console.ts";
import { crossSiteGuard } from "./cross-site.ts";
import { problemMiddleware } from "./problem.ts";
import { failedAuthenticationGuard, rateLimitGuard } from "./rate-limit.ts";
import type { RouteDeclaration } from "./route.ts";
import { routeMiddleware } from "./router.ts";
import { csvRoutes } from "./routes/csv.ts";
import { downloadRoutes } from "./routes/download.ts";
import { definitionVersionRoutes } from "./routes/definition-versions.ts";
import { definitionRoutes } from "./routes/definitions.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import { historyRoutes } from "./routes/history.ts";
import { openApiRoutes } from "./routes/openapi.ts";
import { reportRoutes } from "./routes/reports.ts";
import { scheduleRoutes } from "./routes/schedules.ts";

export interface ApiApp {
  koa: Koa;
  waiter: StatusWaiter;
  /** Follows requests for the server-sent events route. */
  watch: RequestWatch;
  /** Every route the app serves, as declared. */
  routes: readonly RouteDeclaration[];
  close(): void;
}

export function createApp(context: AppContext, options: { outputs?: readonly NamedOutput[] } = {}): ApiApp {
  const { config, log } = context;
  // Every context has a CSV sink (GCS, or the local directory), so every output is deliverable.
  const outputs = options.outputs ?? OUTPUTS;
  const waiter = new StatusWaiter(context.events);
  // Server-sent events: one batched read per second of every followed request (progress).
  const watch = new RequestWatch(context.database.requests, context.events, 1000, log.child({ part: "watch" }));
  const routes: RouteDeclaration[] = [
    ...healthRoutes(context.database, log),
    ...definitionRoutes(context.catalogue, { datasetNote: config.datasetNote, policy: context.definitionVersions.policy }),
    ...definitionVersionRoutes({
      versions: context.definitionVersions,
      catalogue: context.catalogue,
      refreshCatalogue: () => context.catalogueLoader.reloadAfterWrite(),
    }),
    ...openApiRoutes(() => routes, { publicBaseUrl: config.publicBaseUrl, accessControl: config.apiKeys.size > 0 }),
    ...historyRoutes(context),
    ...reportRoutes({ ...context, waiter, outputs }),
    ...scheduleRoutes({ ...context, outputs }),
    ...csvRoutes(context),
    ...downloadRoutes(context),
    ...metricsRoutes(context.metrics, config.apiKeys.size > 0 ? "admin" : "public"),
    ...eventRoutes({
      store: context.store,
      watch,
      heartbeatMs: config.sseHeartbeatMs,
      maxStreamsPerKey: config.maxStreamsPerKey,
      streamMaxMs: config.streamMaxMs,
    }),
  ];
  const koa = new Koa();
  // X-Forwarded-For is trusted only behind configured proxies, and only as many entries as there are
  // proxies: otherwise any client picks its own address, and with it its own rate-limit counter.
  koa.proxy = config.trustProxy > 0;
  koa.maxIpsCount = config.trustProxy;
  context.metrics.watchQueueDepth(context.database.requests);
  koa.use(async (ctx, next) => {
    const started = Date.now();
    try {
      await next();
    } finally {
      const ms = Date.now() - started;
      log.info("http.request", { method: ctx.method, path: ctx.path, status: ctx.status, ms });
      // The declared path template (set by the router), never the raw path: ids would make labels unbounded.
      const route = (ctx.state.route as string | undefined) ?? "unmatched";
      context.metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
      context.metrics.httpDuration.observe({ method: ctx.method, route }, ms / 1000);
    }
  });
  koa.use(problemMiddleware(log));
  // The console and the documentation viewer's files: static, public, no body, no rate-limit token.
  koa.use(consoleAndDocs());
  const parseBody = koaBody({
    json: true,
    jsonStrict: true,
    urlencoded: false,
    text: false,
    multipart: false,
    jsonLimit: config.bodyLimitBytes,
  });
  // Guards run in this order for the matched route: who calls (access, its failures counted per address), then how often (rate limit).
  const guards = [
    crossSiteGuard({ publicBaseUrl: config.publicBaseUrl }),
    failedAuthenticationGuard(accessGuard(config.apiKeys), context.database, {
      perMinute: config.authFailuresPerMinute,
      storeTimeoutMs: config.rateLimitTimeoutMs,
    }),
    rateLimitGuard(context.database, {
      perMinute: config.rateLimitPerMinute,
      publicPerMinute: config.publicRateLimitPerMinute,
      storeTimeoutMs: config.rateLimitTimeoutMs,
    }),
  ];
  koa.use(routeMiddleware(routes, guards, parseBody));
  // Koa's default listener prints stack traces as text; keep logs one JSON object per line.
  koa.on("error", (error) => {
    // A client leaving an event stream (or a download) early is normal, not an error.
    if ((error as { code?: string }).code === "ERR_STREAM_PREMATURE_CLOSE") return;
    log.warn("http.error", { error });
  });
  return {
    koa,
    waiter,
    watch,
    routes,
    close: () => {
      waiter.close();
      watch.close(); // ends every open event stream, so the HTTP server can close
    },
  };
}
