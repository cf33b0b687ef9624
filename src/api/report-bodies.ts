/**
 * The JSON Schemas of report request bodies, one per report of the live catalogue, generated from
 * the superstruct structs that validate them (toJsonSchema): the body of POST /v1/reports
 * (report_name + output + the report's parameters) and of its per-collection alias (no report_name needed).
 */
import type { ReportDefinition } from "../reports/define.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { toJsonSchema, type JsonSchema } from "../reports/json-schema.ts";
import { ref } from "./route.ts";
import { outputSchema, type NamedOutput } from "../requests/output.ts";

export const requestSchemaName = (report: ReportDefinition<any>) => `ReportRequest.${report.name}`;
export const parametersSchemaName = (report: ReportDefinition<any>) => `ReportParameters.${report.name}`;

export const CALLBACK_URL_SCHEMA: JsonSchema = {
  type: "string",
  format: "uri",
  maxLength: 2048,
  description:
    "POSTed the final status, signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); https, or http to hosts in WEBHOOK_ALLOW_HOSTS; never a private address unless allowed",
};

/** What the deployment accepts in a request envelope: `callback_url` only where webhooks are configured. */
export interface EnvelopeOptions {
  outputs: readonly NamedOutput[];
  /** WEBHOOK_SECRET is set: callbacks are offered (and otherwise absent from the document, and refused). */
  callbacks: boolean;
}

function bodies(report: ReportDefinition<any>, { outputs, callbacks }: EnvelopeOptions): { request: JsonSchema; parameters: JsonSchema } {
  const params = toJsonSchema(report.params);
  const properties = { ...((params.properties ?? {}) as Record<string, JsonSchema>) };
  const required = (params.required ?? []) as string[];
  // Aliases (reports/aliases.ts) are documented, not hidden: other names for report_name, and each
  // parameter alias as a property with its canonical parameter's schema (giving both is refused).
  const names = [report.name, ...(report.aliases?.names ?? [])];
  for (const [alias, canonical] of Object.entries(report.aliases?.parameters ?? {})) {
    const target = properties[canonical];
    if (!target) continue;
    const about = typeof target.description === "string" && target.description ? `: ${target.description}` : "";
    properties[alias] = { ...target, description: `alias of ${canonical}${about}` };
  }
  // Every two names of one parameter (its own and each alias) exclude each other, aliases of the same one included.
  const namesOf = new Map<string, string[]>();
  for (const [alias, canonical] of Object.entries(report.aliases?.parameters ?? {})) {
    namesOf.set(canonical, [...(namesOf.get(canonical) ?? [canonical]), alias]);
  }
  const exclusive = [...namesOf.values()].flatMap((names) =>
    names.flatMap((a, i) => names.slice(i + 1).map((b) => ({ not: { required: [a, b] } }))),
  );
  const envelope = {
    report_name: names.length > 1 ? { type: "string", enum: names } : { type: "string", const: report.name },
    output: outputSchema(outputs),
    ...(callbacks ? { callback_url: CALLBACK_URL_SCHEMA } : {}),
  };
  const common = {
    type: "object",
    description: report.description,
    additionalProperties: false,
    ...(exclusive.length > 0 ? { allOf: exclusive } : {}),
    ...(report.example ? { examples: [{ report_name: report.name, ...report.example }] } : {}),
  };
  return {
    request: { ...common, properties: { ...envelope, ...properties }, required: ["report_name", ...required] },
    parameters: { ...common, properties: { ...envelope, ...properties }, ...(required.length ? { required } : {}) },
  };
}

/**
 * `build`'s value for the catalogue's reports, built again only when they change (a reload replaces
 * a changed definition's object): the body schemas are made from every report and checked on every
 * submit, and building them per request was most of the API's CPU per POST (bench/fixed-cost.ts).
 * It also keeps the schema objects the same, so the validator compiled for them is found by identity.
 */
export function perCatalogue<T>(catalogue: ReportCatalogue, build: () => T): () => T {
  let reports: ReportDefinition<any>[] = [];
  let built: { value: T } | undefined;
  return () => {
    const now = catalogue.list();
    if (!built || now.length !== reports.length || now.some((report, i) => report !== reports[i])) {
      reports = now;
      built = { value: build() };
    }
    return built.value;
  };
}

/** Every report's two body schemas, by component name. */
export function reportBodySchemas(catalogue: ReportCatalogue, options: EnvelopeOptions): Record<string, JsonSchema> {
  const schemas: Record<string, JsonSchema> = {};
  for (const report of catalogue.list()) {
    const { request, parameters } = bodies(report, options);
    schemas[requestSchemaName(report)] = request;
    schemas[parametersSchemaName(report)] = parameters;
  }
  return schemas;
}

/** POST /v1/reports: one of the reports' bodies, selected by report_name. */
export function anyReportBody(catalogue: ReportCatalogue): JsonSchema {
  const reports = catalogue.list();
  return {
    oneOf: reports.map((r) => ref(requestSchemaName(r))),
    discriminator: {
      propertyName: "report_name",
      mapping: Object.fromEntries(
        reports.flatMap((r) => [r.name, ...(r.aliases?.names ?? [])].map((name) => [name, `#/components/schemas/${requestSchemaName(r)}`])),
      ),
    },
  };
}
