/**
 * The OpenAPI 3.1 document, assembled on each request from the route declarations (route.ts):
 * each route's summary, scope, parameters, body and responses, its problem types from the one
 * table (problems.ts), and the schemas the routes name. Report bodies come from the live
 * catalogue through the routes' lazy schemas. Nothing here describes a particular route.
 */
import type { JsonSchema } from "../reports/json-schema.ts";
import { PROBLEM_SCHEMA, PROBLEMS, problemSchemaName, problemTypeSchema, type ProblemType } from "./problems.ts";
import { resolve, type ResponseDeclaration, type RouteDeclaration } from "./route.ts";
import { implicitProblems } from "./router.ts";

const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** /v1/reports/:id → /v1/reports/{id} */
export function toOpenApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

function problemSchema(problems: ProblemType[]): JsonSchema {
  const refs = problems.map((p) => ({ $ref: `#/components/schemas/${problemSchemaName(p)}` }));
  return refs.length === 1 ? refs[0] : { oneOf: refs };
}

/** The route's declared responses plus one problem response per status it can fail with. */
function responses(route: RouteDeclaration): Record<string, unknown> {
  const byStatus = new Map<number, ProblemType[]>();
  for (const problem of [...(route.problems ?? []), ...implicitProblems(route)]) {
    const list = byStatus.get(problem.status) ?? [];
    if (!list.includes(problem)) list.push(problem);
    byStatus.set(problem.status, list);
  }
  const out: Record<string, unknown> = {};
  const statuses = new Set([...Object.keys(route.responses).map(Number), ...byStatus.keys()]);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const declared: ResponseDeclaration | undefined = route.responses[status];
    const problems = byStatus.get(status) ?? [];
    const content: Record<string, unknown> = {};
    for (const [mediaType, schema] of Object.entries(declared?.content ?? {})) content[mediaType] = { schema: resolve(schema) };
    if (problems.length > 0) content[PROBLEM_MEDIA_TYPE] = { schema: problemSchema(problems) };
    const problemHeaders = problems.some((p) => p === PROBLEMS.unauthorized)
      ? { "WWW-Authenticate": { description: "Bearer challenge", schema: { type: "string" } } }
      : problems.some((p) => p === PROBLEMS.rateLimited || p === PROBLEMS.unavailable)
        ? { "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "string" } } }
        : {};
    const headers = { ...problemHeaders, ...declared?.headers };
    out[String(status)] = {
      description: [declared?.description, ...problems.map((p) => p.title)].filter(Boolean).join("; "),
      ...(Object.keys(headers).length ? { headers } : {}),
      ...(Object.keys(content).length ? { content } : {}),
    };
  }
  return out;
}

/** What the document says depends on how this deployment is configured. */
export interface DocumentOptions {
  /** API_KEYS is set: operations carry their security requirements and the document its schemes. */
  accessControl: boolean;
}

/** The tag a reader looks for first leads; the others follow in the order routes declare them. */
const LEADING_TAGS = ["reports"];

function operation(route: RouteDeclaration, { accessControl }: DocumentOptions): Record<string, unknown> {
  const scoped = route.access !== "public";
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: [route.description, scoped ? `Scope: \`${route.access}\`${accessControl ? "" : " (when API_KEYS is set)"}.` : "Public."]
      .filter(Boolean)
      .join("\n\n"),
    tags: route.tags,
    "x-scope": route.access,
    // Without API_KEYS no key is asked for: no security requirement (and no Authorize button in /docs).
    ...(accessControl ? { security: scoped ? [{ bearer: [route.access] }, { apiKey: [route.access] }] : [] } : {}),
    // `problem` is the router's, not OpenAPI's.
    ...(route.parameters?.length ? { parameters: route.parameters.map(({ problem: _problem, ...published }) => published) } : {}),
    ...(route.requestBody
      ? {
          requestBody: {
            required: route.requestBody.required,
            ...(route.requestBody.description ? { description: route.requestBody.description } : {}),
            content: Object.fromEntries(
              Object.entries(route.requestBody.content).map(([type, schema]) => [type, { schema: resolve(schema) }]),
            ),
          },
        }
      : {}),
    responses: responses(route),
  };
}

export function buildOpenApi(
  options: { routes: readonly RouteDeclaration[]; serverUrl?: string } & Partial<DocumentOptions>,
): Record<string, unknown> {
  const settings: DocumentOptions = { accessControl: options.accessControl ?? true };
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, JsonSchema> = { Problem: PROBLEM_SCHEMA };
  for (const problem of Object.values(PROBLEMS)) schemas[problemSchemaName(problem)] = problemTypeSchema(problem);
  for (const route of options.routes) {
    const described = operation(route, settings);
    (paths[toOpenApiPath(route.path)] ??= {})[route.method.toLowerCase()] = described;
    Object.assign(schemas, resolve(route.components ?? {}));
    for (const expansion of resolve(route.expansions ?? [])) {
      // A concrete path has no path parameters: the template's are dropped.
      const { parameters, ...rest } = described as { parameters?: { in: string }[] };
      const kept = (parameters ?? []).filter((p) => p.in !== "path");
      (paths[expansion.path] ??= {})[route.method.toLowerCase()] = {
        ...rest,
        ...(kept.length ? { parameters: kept } : {}),
        operationId: expansion.operationId,
        summary: expansion.summary,
        ...(expansion.tags ? { tags: expansion.tags } : {}),
        requestBody: { required: true, content: { "application/json": { schema: expansion.requestBody } } },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mongo-reports",
      version: "1",
      description:
        "Asynchronous reports over MongoDB: request a report, poll its status, page through rows. Generated from the routes' own declarations and the live catalogue.",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: documentTags(options.routes),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas,
      ...(settings.accessControl
        ? {
            securitySchemes: {
              bearer: { type: "http", scheme: "bearer", description: "an API key of this deployment (API_KEYS)" },
              apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
            },
          }
        : {}),
    },
  };
}

/** Every tag the routes use, the leading ones first (Swagger UI shows tags in this order). */
function documentTags(routes: readonly RouteDeclaration[]): { name: string }[] {
  const used = [...new Set(routes.flatMap((route) => route.tags ?? []))];
  const ordered = [...LEADING_TAGS.filter((tag) => used.includes(tag)), ...used.filter((tag) => !LEADING_TAGS.includes(tag))];
  return ordered.map((name) => ({ name }));
}
