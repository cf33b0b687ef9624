/**
 * The OpenAPI 3.1 document, generated on each request from the live catalogue and the routes the
 * Koa app actually mounts: report bodies come from the same superstruct structs that validate
 * them (through toJsonSchema), so the document cannot drift from the API. Nothing is hand-written
 * per report.
 */
import type Koa from "koa";
import type { ReportDefinition } from "../reports/define.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { toJsonSchema, type JsonSchema } from "../reports/json-schema.ts";

export interface ServedRoute {
  method: string;
  /** Koa form, e.g. /v1/reports/:id */
  path: string;
}

/** Every (method, path) the app's routers serve; HEAD is implied by GET and left out. */
export function servedRoutes(koa: Koa<any, any>): ServedRoute[] {
  const routes: ServedRoute[] = [];
  for (const middleware of koa.middleware as Array<{ router?: { stack: { path: unknown; methods: string[] }[] } }>) {
    for (const layer of middleware.router?.stack ?? []) {
      if (typeof layer.path !== "string") continue;
      for (const method of layer.methods) if (method !== "HEAD") routes.push({ method, path: layer.path });
    }
  }
  return routes;
}

/** /v1/reports/:id → /v1/reports/{id} */
export function toOpenApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}

const PROBLEM = "application/problem+json";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({ description, content: { [PROBLEM]: { schema: ref("Problem") } } });
const json = (description: string, schema: JsonSchema) => ({ description, content: { "application/json": { schema } } });

function requestSchemaName(report: ReportDefinition<any>): string {
  return `ReportRequest.${report.name}`;
}
function parametersSchemaName(report: ReportDefinition<any>): string {
  return `ReportParameters.${report.name}`;
}

/** The body of POST /v1/reports for one report: its parameters plus report_name and output. */
function reportBodies(report: ReportDefinition<any>, outputs: readonly string[]): { request: JsonSchema; parameters: JsonSchema } {
  const params = toJsonSchema(report.params);
  const properties = (params.properties ?? {}) as Record<string, JsonSchema>;
  const required = (params.required ?? []) as string[];
  const envelope = {
    report_name: { type: "string", const: report.name },
    output: {
      type: "string",
      enum: [...outputs],
      default: "json",
      description: "json: rows paged through the API; csv: a CSV file (GET /v1/reports/{id}/csv); both: the two",
    },
  };
  const common = {
    type: "object",
    description: report.description,
    additionalProperties: false,
    ...(report.example ? { examples: [{ report_name: report.name, ...report.example }] } : {}),
  };
  return {
    request: { ...common, properties: { ...envelope, ...properties }, required: ["report_name", ...required] },
    parameters: { ...common, properties: { ...envelope, ...properties }, ...(required.length ? { required } : {}) },
  };
}

const SCHEMAS: Record<string, JsonSchema> = {
  Problem: {
    type: "object",
    description: "RFC 9457 problem details",
    properties: {
      type: { type: "string", format: "uri" },
      title: { type: "string" },
      status: { type: "integer" },
      detail: { type: "string" },
      instance: { type: "string" },
      errors: { type: "array", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } },
    },
    required: ["type", "title", "status"],
  },
  ReportRequestStatus: {
    type: "object",
    description: "A report request; when completed, one page of rows with paging links",
    properties: {
      id: { type: "string" },
      report_name: { type: "string" },
      status: { type: "string", enum: ["pending", "running", "completed", "error", "cancelled"] },
      output: { type: "string" },
      params: { type: "object" },
      report_date: { type: "string", format: "date-time" },
      attempts: { type: "integer" },
      error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" }, details: {} } },
      columns: { type: "array", items: { type: "string" } },
      page: { type: "integer" },
      page_size: { type: "integer" },
      total_rows: { type: "integer" },
      total_pages: { type: "integer" },
      rows: { type: "array", items: { type: "object" } },
      links: { type: "object", additionalProperties: { type: "string" } },
    },
    required: ["id", "report_name", "status"],
  },
  ReportRequestList: {
    type: "object",
    description: "One page of requests, newest first; next_after (and links.next) when there are older ones",
    properties: {
      items: { type: "array", items: ref("ReportRequestStatus") },
      limit: { type: "integer" },
      next_after: { type: "string", description: "pass as after= for the next (older) page" },
      links: { type: "object", properties: { next: { type: "string" } } },
    },
    required: ["items", "limit", "links"],
  },
  ReportDescription: {
    type: "object",
    properties: {
      name: { type: "string" },
      collection: { type: "string" },
      description: { type: "string" },
      kind: { type: "string", enum: ["code", "data"] },
      parameters: { type: "object", description: "JSON Schema of the report's parameters" },
      columns: {
        type: "array",
        items: { type: "object", properties: { name: { type: "string" }, description: { type: "string" } }, required: ["name"] },
      },
      sort: { type: "object", additionalProperties: { enum: [1, -1] } },
      example: { type: "object" },
      links: { type: "object", additionalProperties: { type: "string" } },
    },
    required: ["name", "collection", "description", "parameters", "columns", "example"],
  },
  RejectedReport: {
    type: "object",
    properties: {
      kind: { type: "string", enum: ["code", "data"] },
      name: { type: "string" },
      origin: { type: "string" },
      errors: { type: "array", items: { type: "string" } },
    },
    required: ["kind", "origin", "errors"],
  },
};

type Operation = Record<string, unknown>;

/** Hand-described routes (their behaviour, not per-report content): key "METHOD /openapi/path". */
function describedOperations(catalogue: ReportCatalogue, outputs: readonly string[]): Record<string, Operation> {
  const reports = catalogue.list();
  const anyReport = {
    oneOf: reports.map((r) => ref(requestSchemaName(r))),
    discriminator: {
      propertyName: "report_name",
      mapping: Object.fromEntries(reports.map((r) => [r.name, `#/components/schemas/${requestSchemaName(r)}`])),
    },
  };
  const accepted = {
    "202": json("Accepted: the request is stored as pending; poll the Location", ref("ReportRequestStatus")),
    "200": json("An identical recent or idempotent request, returned instead of a new one", ref("ReportRequestStatus")),
    "400": problem("Invalid body or parameters (every bad field is listed in errors)"),
    "404": problem("Unknown report (or not on this collection)"),
    "415": problem("The body is not JSON"),
  };
  // Access control is off unless API_KEYS is set: a key is accepted, not required ({}).
  const security = [{ bearer: [] }, { apiKey: [] }, {}];
  const idParameter = { name: "id", in: "path", required: true, schema: { type: "string", pattern: "^[0-9a-fA-F]{24}$" } };
  const submitHeaders = {
    Location: { description: "The request's status URL", schema: { type: "string" } },
    "Retry-After": { description: "Seconds before polling", schema: { type: "string" } },
  };
  return {
    "GET /healthz": { summary: "Liveness", tags: ["health"], responses: { "200": json("The process answers", { type: "object" }) } },
    "GET /readyz": {
      summary: "Readiness: MongoDB reachable",
      tags: ["health"],
      responses: { "200": json("Ready", { type: "object" }), "503": json("MongoDB unreachable", { type: "object" }) },
    },
    "GET /openapi.json": { summary: "This document", tags: ["discovery"], responses: { "200": json("OpenAPI 3.1", { type: "object" }) } },
    "GET /docs": {
      summary: "Interactive API documentation",
      tags: ["discovery"],
      responses: { "200": { description: "An HTML page", content: { "text/html": { schema: { type: "string" } } } } },
    },
    "GET /v1/report-definitions": {
      summary: "List reports with parameter schemas, columns and example bodies",
      tags: ["discovery"],
      responses: {
        "200": json("The catalogue", {
          type: "object",
          properties: {
            reports: { type: "array", items: ref("ReportDescription") },
            rejected: { type: "array", items: ref("RejectedReport") },
          },
          required: ["reports"],
        }),
      },
    },
    "GET /v1/report-definitions/{name}": {
      summary: "One report's description",
      tags: ["discovery"],
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string", enum: reports.map((r) => r.name) } }],
      responses: { "200": json("The report", ref("ReportDescription")), "404": problem("Unknown report") },
    },
    "POST /v1/report-definition-checks": {
      security,
      summary: "Check a report_definitions document without storing it",
      tags: ["discovery"],
      requestBody: { required: true, content: { "application/json": { schema: { type: "object" } } } },
      responses: {
        "200": json("Valid", { type: "object", properties: { valid: { const: true }, report: ref("ReportDescription") } }),
        "400": problem("Not a JSON object"),
        "422": problem("Invalid definition; errors lists every reason"),
      },
    },
    "POST /v1/reports": {
      security,
      summary: "Request a report (runs asynchronously)",
      tags: ["reports"],
      parameters: [
        { name: "page", in: "query", schema: { type: "integer", minimum: 0 }, description: "page used in the returned Location" },
        { name: "page_size", in: "query", schema: { type: "integer", minimum: 1 } },
      ],
      requestBody: { required: true, content: { "application/json": { schema: anyReport } } },
      responses: Object.fromEntries(
        Object.entries(accepted).map(([code, r]) => [code, code.startsWith("2") ? { ...r, headers: submitHeaders } : r]),
      ),
    },
    "GET /v1/reports": {
      security,
      summary: "The requests made (yours, when API keys are on), newest first, with cursor paging",
      tags: ["reports"],
      parameters: [
        { name: "report_name", in: "query", schema: { type: "string" }, description: "only this report's requests" },
        { name: "status", in: "query", schema: { type: "string", enum: ["pending", "running", "completed", "error", "cancelled"] } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
        {
          name: "after",
          in: "query",
          schema: { type: "string", pattern: "^[0-9a-fA-F]{24}$" },
          description: "next_after of the previous page: only requests older than this one",
        },
      ],
      responses: {
        "200": json("One page of requests", ref("ReportRequestList")),
        "400": problem("Invalid query (errors names the field)"),
      },
    },
    "GET /v1/reports/{id}": {
      security,
      summary: "A request's status, and one page of rows once completed",
      tags: ["reports"],
      parameters: [
        idParameter,
        { name: "page", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
        { name: "page_size", in: "query", schema: { type: "integer", minimum: 1 } },
        {
          name: "wait",
          in: "query",
          schema: { type: "integer", minimum: 0 },
          description: "hold the response up to N seconds until the status is final",
        },
        { name: "Prefer", in: "header", schema: { type: "string" }, description: "wait=N, as the wait query parameter" },
      ],
      responses: {
        "200": json("Status (with rows when completed)", ref("ReportRequestStatus")),
        "400": problem("Invalid id or query"),
        "404": problem("No such request"),
      },
    },
    "DELETE /v1/reports/{id}": {
      security,
      summary: "Cancel a pending or running request",
      tags: ["reports"],
      parameters: [idParameter],
      responses: {
        "200": json("Cancelled", ref("ReportRequestStatus")),
        "400": problem("Invalid id"),
        "404": problem("No such request"),
        "409": problem("Already finished"),
      },
    },
    "GET /v1/reports/{id}/csv": {
      security,
      summary: "The CSV of a completed request submitted with output csv or both",
      tags: ["reports"],
      parameters: [idParameter],
      responses: {
        "200": { description: "The CSV file (local storage)", content: { "text/csv": { schema: { type: "string" } } } },
        "303": { description: "Redirect to a signed download URL (cloud storage)" },
        "404": problem("No such request, or it has no CSV"),
        "409": problem("Not completed yet, or the CSV cannot be served from here"),
        "410": problem("The CSV has been removed (retention)"),
      },
    },
    "POST /v1/{collection}/{report_name}": {
      security,
      summary: "Alias of POST /v1/reports with the report named in the path",
      tags: ["reports"],
      parameters: [
        {
          name: "collection",
          in: "path",
          required: true,
          schema: { type: "string", enum: [...new Set(reports.map((r) => r.collection))] },
        },
        { name: "report_name", in: "path", required: true, schema: { type: "string", enum: reports.map((r) => r.name) } },
      ],
      requestBody: {
        required: true,
        content: { "application/json": { schema: { anyOf: reports.map((r) => ref(parametersSchemaName(r))) } } },
      },
      responses: accepted,
    },
  };
}

export function buildOpenApi(options: {
  catalogue: ReportCatalogue;
  routes: ServedRoute[];
  outputs: readonly string[];
  serverUrl?: string;
}): Record<string, unknown> {
  const { catalogue, routes, outputs } = options;
  const described = describedOperations(catalogue, outputs);
  const paths: Record<string, Record<string, Operation>> = {};
  const put = (method: string, path: string, operation: Operation) => {
    (paths[path] ??= {})[method.toLowerCase()] = operation;
  };
  for (const route of routes) {
    const path = toOpenApiPath(route.path);
    const key = `${route.method} ${path}`;
    // A route nobody described yet is still listed, marked, so the document never omits one.
    put(route.method, path, {
      operationId: key.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, ""),
      ...(described[key] ?? {
        summary: `${route.method} ${path}`,
        "x-undocumented": true,
        responses: { default: problem("See the error") },
      }),
    });
  }
  const schemas: Record<string, JsonSchema> = { ...SCHEMAS };
  for (const report of catalogue.list()) {
    const bodies = reportBodies(report, outputs);
    schemas[requestSchemaName(report)] = bodies.request;
    schemas[parametersSchemaName(report)] = bodies.parameters;
    // The per-collection alias, spelled out for each report so clients see its exact body.
    if (routes.some((r) => r.method === "POST" && r.path === "/v1/:collection/:report_name")) {
      put("POST", `/v1/${report.collection}/${report.name}`, {
        operationId: `submit_${report.name.replace(/-/g, "_")}`,
        summary: report.description,
        tags: [report.collection],
        security: (described["POST /v1/{collection}/{report_name}"] as { security: unknown }).security,
        requestBody: { required: true, content: { "application/json": { schema: ref(parametersSchemaName(report)) } } },
        responses: (described["POST /v1/{collection}/{report_name}"] as { responses: unknown }).responses,
      });
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mongo-reports",
      version: "1",
      description:
        "Asynchronous reports over MongoDB: request a report, poll its status, page through rows. Generated from the live catalogue.",
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "API key, when the deployment sets API_KEYS" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
    },
  };
}
