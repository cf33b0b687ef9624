/**
 * Discovery: which reports exist, what they take (JSON Schema generated from the structs the API
 * validates with), what they return, and an example body. Also a dry-run check for authors of
 * data-defined reports, which stores nothing.
 */
import type { RejectedReport, ReportCatalogue } from "../../reports/registry.ts";
import { COLUMN_TYPES, type ReportDefinition } from "../../reports/define.ts";
import { OUTPUTS } from "../../requests/output.ts";
import { FILE_FORMATS } from "../../results/formats/all.ts";
import { FORMATS } from "../../results/formats/format.ts";
import { compileDefinition } from "../../reports/data-defined/compile.ts";
import type { DefinitionPolicy } from "../../reports/data-defined/document.ts";
import { describeAliases, resolveReportName } from "../../reports/aliases.ts";
import { toJsonSchema, type JsonSchema } from "../../reports/json-schema.ts";
import { DEFINITION_DOCUMENT_SCHEMA } from "../../reports/data-defined/document.ts";
import type { FieldError } from "../declared-input.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { unknownReportProblem } from "../unknown-report.ts";
import { jsonContent, ref, route, type RouteDeclaration } from "../route.ts";

/** A definition document whose shape its schema refuses: 422 with every reason, as a refused compilation answers. */
export function refuseDefinition(errors: FieldError[], body: unknown): ProblemError {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return new ProblemError(PROBLEMS.invalidBody, "send the report definition document as a JSON object");
  }
  const reasons = errors.map((e) => `${e.field}: ${e.message}`);
  const name = (body as { name?: unknown }).name;
  return new ProblemError(PROBLEMS.invalidDefinition, reasons.join("; "), {
    extensions: { ...(typeof name === "string" ? { name } : {}), errors: reasons },
  });
}

/** The catalogue as discovery needs it; `rejected` is optional so any ReportCatalogue works. */
export type DiscoverableCatalogue = ReportCatalogue & { rejected?(): RejectedReport[] };

export function describeReport(report: ReportDefinition<any>): Record<string, unknown> {
  return {
    name: report.name,
    collection: report.collection,
    description: report.description,
    kind: report.kind ?? "code",
    ...(report.version === undefined ? {} : { version: report.version }),
    parameters: toJsonSchema(report.params),
    columns: report.columns,
    ...(report.sort ? { sort: report.sort } : {}),
    // What the pipeline needs indexed: created at start unless CREATE_DATA_INDEXES=false.
    indexes: (report.indexes ?? []).map((index) => ({ collection: index.collection ?? report.collection, key: index.key })),
    // Other names, routes and parameter names clients may use (the design document's among them).
    aliases: describeAliases(report),
    example: { report_name: report.name, ...(report.example ?? {}) },
    // Where its rows can go: the `output` values a request may give, and each file format's type.
    outputs: [...OUTPUTS],
    formats: Object.values(FILE_FORMATS).map((format) => ({ format: format.name, content_type: format.contentType })),
    links: {
      self: `/v1/report-definitions/${report.name}`,
      ...(report.kind === "data" ? { versions: `/v1/report-definitions/${report.name}/versions` } : {}),
      submit: "/v1/reports",
      alias: `/v1/${report.collection}/${report.name}`,
    },
  };
}

/** What discovery shows of a rejected module or definition: never a server file path. */
function describeRejected(entry: RejectedReport): Record<string, unknown> {
  const origin = entry.kind === "code" ? entry.origin.split(/[\\/]/).slice(-2).join("/") : entry.origin;
  return {
    kind: entry.kind,
    ...(entry.name ? { name: entry.name } : {}),
    origin,
    errors: entry.errors,
    ...(entry.serving_version === undefined ? {} : { serving_version: entry.serving_version }),
  };
}

function unknownReport(catalogue: ReportCatalogue, name: string): ProblemError {
  return unknownReportProblem(
    `no report named ${JSON.stringify(name)}`,
    name,
    catalogue.list().map((r) => r.name),
  );
}

/** The schemas of describeReport and describeRejected, for the document. */
export const DEFINITION_SCHEMAS: Record<string, JsonSchema> = {
  ReportDescription: {
    type: "object",
    additionalProperties: false,
    properties: {
      name: { type: "string" },
      collection: { type: "string" },
      description: { type: "string" },
      kind: { type: "string", enum: ["code", "data"] },
      version: { type: "integer", minimum: 1, description: "data-defined reports: the definition version serving" },
      parameters: { type: "object", description: "JSON Schema of the report's parameters" },
      columns: {
        type: "array",
        items: {
          type: "object",
          properties: {
            name: { type: "string" },
            description: { type: "string" },
            type: { type: "string", enum: [...COLUMN_TYPES], description: "what the values are; exports keep it (Excel, Parquet)" },
            precision: { type: "integer", minimum: 0, maximum: 15, description: "decimal places numbers are rounded to in the rows" },
          },
          required: ["name"],
        },
      },
      sort: { type: "object", additionalProperties: { enum: [1, -1] } },
      outputs: {
        type: "array",
        description: "the values `output` accepts (a list of json and formats is accepted too)",
        items: { type: "string", enum: [...OUTPUTS] },
      },
      formats: {
        type: "array",
        description: "the file formats, each downloaded with GET /v1/reports/{id}/download?format=…",
        items: {
          type: "object",
          additionalProperties: false,
          properties: { format: { type: "string", enum: [...FORMATS] }, content_type: { type: "string" } },
          required: ["format", "content_type"],
        },
      },
      indexes: {
        type: "array",
        description: "indexes the report's pipeline needs on the data (created at start unless CREATE_DATA_INDEXES=false)",
        items: {
          type: "object",
          additionalProperties: false,
          properties: { collection: { type: "string" }, key: { type: "object", additionalProperties: { enum: [1, -1] } } },
          required: ["collection", "key"],
        },
      },
      aliases: {
        type: "object",
        description: "other report names, POST routes and parameter names (alias → canonical) this report accepts",
        additionalProperties: false,
        properties: {
          names: { type: "array", items: { type: "string" } },
          routes: { type: "array", items: { type: "string" } },
          parameters: { type: "object", additionalProperties: { type: "string" } },
        },
        required: ["names", "routes", "parameters"],
      },
      example: { type: "object", required: ["report_name"] },
      links: {
        type: "object",
        additionalProperties: false,
        properties: { self: { type: "string" }, versions: { type: "string" }, submit: { type: "string" }, alias: { type: "string" } },
        required: ["self", "submit"],
      },
    },
    required: [
      "name",
      "collection",
      "description",
      "kind",
      "parameters",
      "columns",
      "indexes",
      "aliases",
      "example",
      "outputs",
      "formats",
      "links",
    ],
  },
  RejectedReport: {
    type: "object",
    additionalProperties: false,
    properties: {
      kind: { type: "string", enum: ["code", "data"] },
      name: { type: "string" },
      origin: { type: "string" },
      errors: { type: "array", items: { type: "string" } },
      serving_version: {
        type: "integer",
        minimum: 1,
        description: "the definition as stored is refused, and this earlier version of it keeps serving",
      },
    },
    required: ["kind", "origin", "errors"],
  },
};

/** What discovery says about the deployment beside its reports. */
export interface DiscoveryOptions {
  /** A sentence about the data the reports run over (DATASET_NOTE; the demo data's description under `npm start`). */
  datasetNote?: string;
  /** What a definition may reach (DEFINITION_COLLECTIONS, HIDDEN_FIELDS): checks answer as a save would. */
  policy: DefinitionPolicy;
}

export function definitionRoutes(catalogue: DiscoverableCatalogue, options: DiscoveryOptions): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/v1/report-definitions",
      operationId: "listReportDefinitions",
      summary: "List reports with parameter schemas, columns and example bodies",
      tags: ["discovery"],
      access: "public",
      components: DEFINITION_SCHEMAS,
      responses: {
        200: {
          description: "The catalogue, and the modules or definitions that were refused",
          content: jsonContent({
            type: "object",
            additionalProperties: false,
            properties: {
              reports: { type: "array", items: ref("ReportDescription") },
              rejected: { type: "array", items: ref("RejectedReport") },
              dataset: {
                type: "object",
                additionalProperties: false,
                description: "what the reports run over, when the deployment says (e.g. the demo data of npm start)",
                properties: { note: { type: "string" } },
                required: ["note"],
              },
            },
            required: ["reports", "rejected"],
          }),
        },
      },
      handler: (ctx) => {
        ctx.body = {
          reports: catalogue.list().map(describeReport),
          // Broken modules and definitions are listed with their reasons instead of vanishing.
          rejected: (catalogue.rejected?.() ?? []).map(describeRejected),
          // A newcomer's "why so few rows?" is usually about the data: say what it is.
          ...(options.datasetNote ? { dataset: { note: options.datasetNote } } : {}),
        };
      },
    }),
    route({
      method: "GET",
      path: "/v1/report-definitions/:name",
      operationId: "getReportDefinition",
      summary: "One report's description",
      tags: ["discovery"],
      access: "public",
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
      responses: { 200: { description: "The report", content: jsonContent(ref("ReportDescription")) } },
      problems: [PROBLEMS.unknownReport],
      handler: (ctx) => {
        // A name alias (e.g. the design document's top-directors-per-moving-rating) finds its report too.
        const report = catalogue.get(ctx.params.name) ?? resolveReportName(catalogue.list(), ctx.params.name);
        if (!report) throw unknownReport(catalogue, ctx.params.name);
        ctx.body = describeReport(report);
      },
    }),
    route({
      method: "POST",
      path: "/v1/report-definition-checks",
      operationId: "checkReportDefinition",
      summary: "Check a report_definitions document without storing it",
      description: "The same checks as when the catalogue loads definitions from the database.",
      tags: ["discovery"],
      access: "read",
      requestBody: { required: true, content: jsonContent(DEFINITION_DOCUMENT_SCHEMA) },
      refuseBody: refuseDefinition,
      responses: {
        200: {
          description: "Valid",
          content: jsonContent({
            type: "object",
            additionalProperties: false,
            properties: { valid: { const: true }, report: ref("ReportDescription") },
            required: ["valid", "report"],
          }),
        },
      },
      problems: [PROBLEMS.invalidBody, PROBLEMS.invalidDefinition],
      handler: (ctx) => {
        const body = ctx.request.body;
        if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
          throw new ProblemError(PROBLEMS.invalidBody, "send the report definition document as a JSON object");
        }
        const compiled = compileDefinition(body, options.policy);
        if (!compiled.ok) {
          throw new ProblemError(PROBLEMS.invalidDefinition, compiled.errors.join("; "), {
            extensions: { ...(compiled.name ? { name: compiled.name } : {}), errors: compiled.errors },
          });
        }
        ctx.body = { valid: true, report: describeReport(compiled.report) };
      },
    }),
  ];
}
