/**
 * Serves route declarations: matches the path (a concrete segment beats a `:param`, as OpenAPI
 * matches paths), answers `405` with `Allow` for a method the path does not have (and `OPTIONS`
 * with the list), runs the guards (access, rate limit) the route's properties call for, then the
 * body parser and the handler. Also lists the problems it answers on a route's behalf, for the document.
 */
import type { Context, Middleware } from "koa";
import { checkBody, checkParameters, parameterProblem } from "./declared-input.ts";
import { PROBLEMS, ProblemError, type ProblemType } from "./problems.ts";
import { resolve, type RouteDeclaration } from "./route.ts";

/**
 * HTTP's own methods (RFC 9110, PATCH, and the QUERY draft): on an existing path, one the path lacks is 405 with
 * `Allow`. Any other method Node accepts (WebDAV's PROPFIND, PURGE, …) is one this server does
 * not implement anywhere: 501.
 */
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY"]);

/** Runs before a route's handler; throws a ProblemError to refuse. */
export type Guard = (route: RouteDeclaration, ctx: Context) => void | Promise<void>;

interface PathPattern {
  path: string;
  regex: RegExp;
  names: string[];
  /** One entry per segment: true for a literal. Higher wins, compared left to right. */
  literals: boolean[];
  routes: RouteDeclaration[];
}

function compile(path: string): Omit<PathPattern, "routes"> {
  const segments = path.split("/").slice(1);
  const names: string[] = [];
  const source = segments
    .map((segment) => {
      if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(segment.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { path, regex: new RegExp(`^/${source}$`), names, literals: segments.map((s) => !s.startsWith(":")) };
}

function moreSpecific(a: PathPattern, b: PathPattern): boolean {
  for (let i = 0; i < a.literals.length; i++) if (a.literals[i] !== b.literals[i]) return a.literals[i];
  return false;
}

function allowed(pattern: PathPattern): string {
  const methods = new Set<string>(pattern.routes.map((r) => r.method));
  if (methods.has("GET")) methods.add("HEAD");
  methods.add("OPTIONS");
  return [...methods].sort().join(", ");
}

export type RouteMatch =
  | { kind: "route"; route: RouteDeclaration; params: Record<string, string> }
  /** The path exists, the method does not: answer 405 (or OPTIONS) with this Allow list. */
  | { kind: "method-not-allowed"; allow: string }
  | { kind: "none" };

/** Finds the route for a method and path among the declarations (pure: unit-tested without a server). */
export function routeTable(routes: readonly RouteDeclaration[]): (method: string, path: string) => RouteMatch {
  const patterns = new Map<string, PathPattern>();
  for (const declared of routes) {
    const pattern = patterns.get(declared.path) ?? { ...compile(declared.path), routes: [] };
    if (pattern.routes.some((r) => r.method === declared.method))
      throw new Error(`route ${declared.method} ${declared.path} declared twice`);
    pattern.routes.push(declared);
    patterns.set(declared.path, pattern);
  }
  return (method, path) => {
    let best: { pattern: PathPattern; match: RegExpExecArray } | undefined;
    for (const pattern of patterns.values()) {
      const match = pattern.regex.exec(path);
      if (match && (!best || moreSpecific(pattern, best.pattern))) best = { pattern, match };
    }
    if (!best) return { kind: "none" };
    const wanted = method === "HEAD" ? "GET" : method;
    const declared = best.pattern.routes.find((r) => r.method === wanted);
    if (!declared) return { kind: "method-not-allowed", allow: allowed(best.pattern) };
    const params: Record<string, string> = {};
    best.pattern.names.forEach((name, i) => {
      const raw = best.match[i + 1];
      try {
        params[name] = decodeURIComponent(raw);
      } catch {
        params[name] = raw; // malformed %-escape: the handler's own check refuses it
      }
    });
    return { kind: "route", route: declared, params };
  };
}

/**
 * `parseBody` runs after the guards and only for routes that declare a request body, so nobody
 * makes the server parse a body it would refuse anyway.
 */
export function routeMiddleware(routes: readonly RouteDeclaration[], guards: readonly Guard[], parseBody: Middleware): Middleware {
  const match = routeTable(routes);
  return async (ctx, next) => {
    const found = match(ctx.method, ctx.path);
    if (found.kind !== "none" && !HTTP_METHODS.has(ctx.method)) {
      throw new ProblemError(PROBLEMS.notImplemented, `${ctx.method} is not implemented by this server`);
    }
    if (found.kind === "none") return next();
    if (found.kind === "method-not-allowed") {
      ctx.set("Allow", found.allow);
      if (ctx.method === "OPTIONS") {
        ctx.status = 204;
        return;
      }
      throw new ProblemError(PROBLEMS.methodNotAllowed, `${ctx.method} is not allowed on ${ctx.path}; allowed: ${found.allow}`, {
        headers: { Allow: found.allow },
      });
    }
    const declared = found.route;
    (ctx as Context & { params: Record<string, string> }).params = found.params;
    ctx.state.route = declared.path; // for metrics: a bounded label
    for (const guard of guards) await guard(declared, ctx);
    // The declarations are the validator: what /openapi.json says is what is accepted.
    const input = checkParameters(declared.parameters ?? [], {
      params: found.params,
      query: ctx.query,
      headers: ctx.headers,
    });
    if (declared.requestBody) {
      if (hasBody(ctx) && !ctx.is("application/json")) {
        throw new ProblemError(PROBLEMS.unsupportedMediaType, "send the body as application/json");
      }
      await parseBody(ctx, async () => {});
      const schema = bodySchema(declared, ctx.path);
      if (schema) checkBody(ctx, (ctx.request as { body?: unknown }).body, schema, resolve(declared.components ?? {}), declared.refuseBody);
    }
    ctx.state.input = input;
    await declared.handler(ctx);
  };
}

function hasBody(ctx: Context): boolean {
  return Boolean(ctx.get("Transfer-Encoding")) || Number(ctx.get("Content-Length") || 0) > 0;
}

/** The JSON body schema that applies on `path`: a concrete expansion's own, else the route's. */
function bodySchema(route: RouteDeclaration, path: string) {
  const expansion = resolve(route.expansions ?? []).find((e) => e.path === path);
  if (expansion) return expansion.requestBody;
  const declared = route.requestBody?.content["application/json"];
  return declared === undefined ? undefined : resolve(declared);
}

/** The problems the router, its guards and the body parser answer for a route besides the handler's own. */
export function implicitProblems(route: RouteDeclaration): ProblemType[] {
  return [
    ...(route.parameters ?? []).map(parameterProblem),
    ...(route.requestBody && !route.refuseBody ? [PROBLEMS.invalidBody] : []),
    // Public routes have a limit of their own (per client address), keyed routes the per-key one.
    ...(route.access === "public" ? [PROBLEMS.rateLimited] : [PROBLEMS.unauthorized, PROBLEMS.forbidden, PROBLEMS.rateLimited]),
    ...(route.method === "GET" ? [] : [PROBLEMS.crossSite]),
    ...(route.requestBody ? [PROBLEMS.invalidJson, PROBLEMS.payloadTooLarge, PROBLEMS.unsupportedMediaType] : []),
    PROBLEMS.internal,
    PROBLEMS.unavailable,
  ];
}
