/**
 * Data-defined reports managed through the API, with versions: create or replace
 * (`PUT /v1/report-definitions/:name`), retire (`DELETE`), history (`…/versions`, `…/versions/:n`)
 * and undo (`POST …/versions/:n/restore`). Every accepted write is a new version; a write that
 * does not validate is refused with every reason and changes nothing. Writes need the admin scope
 * when access control is on; reads stay public, like the rest of discovery.
 */
import type { Context } from "koa";
import { InvalidDefinitionError } from "../../reports/data-defined/store.ts";
import type { DefinitionVersion, DefinitionVersions } from "../../reports/data-defined/versions.ts";
import type { JsonSchema } from "../../reports/json-schema.ts";
import type { ReportRegistry } from "../../reports/registry.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { jsonContent, ref, route, type ParameterDeclaration, type RouteDeclaration } from "../route.ts";
import { NAMED_DEFINITION_DOCUMENT_SCHEMA } from "../../reports/data-defined/document.ts";
import { DEFINITION_SCHEMAS, describeReport, refuseDefinition } from "./definitions.ts";
import { requireJsonObject } from "./reports.ts";

export interface DefinitionVersionRouteDeps {
  versions: DefinitionVersions;
  catalogue: ReportRegistry;
  /** Re-reads the catalogue, so this process serves a write at once (others within CATALOGUE_RELOAD_MS). */
  refreshCatalogue(): Promise<void>;
}

const definitionPath = (name: string) => `/v1/report-definitions/${name}`;

function invalidDefinition(error: InvalidDefinitionError): ProblemError {
  return new ProblemError(PROBLEMS.invalidDefinition, error.errors.join("; "), {
    extensions: { ...(error.definitionName ? { name: error.definitionName } : {}), errors: error.errors },
  });
}

const VERSION_PATTERN = /^[1-9]\d{0,8}$/;

function parseVersion(raw: string): number {
  if (!VERSION_PATTERN.test(raw))
    throw new ProblemError(PROBLEMS.invalidVersion, `${JSON.stringify(raw)} is not a version number (1, 2, …)`);
  return Number(raw);
}

function versionNotFound(name: string, version: number | string): ProblemError {
  return new ProblemError(PROBLEMS.versionNotFound, `${name} has no version ${version}`);
}

function representVersion(v: DefinitionVersion, currentVersion: number | undefined): Record<string, unknown> {
  return {
    name: v.name,
    version: v.version,
    created_at: v.created_at,
    source: v.source,
    ...(v.restored_from === undefined ? {} : { restored_from: v.restored_from }),
    current: v.version === currentVersion,
    links: {
      self: `${definitionPath(v.name)}/versions/${v.version}`,
      restore: `${definitionPath(v.name)}/versions/${v.version}/restore`,
    },
  };
}

const nameParameter: ParameterDeclaration = {
  name: "name",
  in: "path",
  required: true,
  description: "the report's name (kebab-case)",
  schema: { type: "string", pattern: "^[a-z0-9]+(-[a-z0-9]+)*$" },
};
const versionParameter: ParameterDeclaration = {
  name: "version",
  in: "path",
  required: true,
  description: "a version number (1, 2, …)",
  schema: { type: "string", pattern: VERSION_PATTERN.source },
  problem: PROBLEMS.invalidVersion,
};

const versionProperties: Record<string, JsonSchema> = {
  name: { type: "string" },
  version: { type: "integer", minimum: 1 },
  created_at: { type: "string", format: "date-time" },
  source: { type: "string", enum: ["api", "restore", "seed", "manual"], description: "manual: edited straight in MongoDB, then adopted" },
  restored_from: { type: "integer", minimum: 1 },
  current: { type: "boolean", description: "the version serving now" },
  links: {
    type: "object",
    additionalProperties: false,
    properties: { self: { type: "string" }, restore: { type: "string" } },
    required: ["self", "restore"],
  },
};
const versionRequired = ["name", "version", "created_at", "source", "current", "links"];

export const DEFINITION_VERSION_SCHEMAS: Record<string, JsonSchema> = {
  ...DEFINITION_SCHEMAS,
  DefinitionVersion: { type: "object", additionalProperties: false, properties: versionProperties, required: versionRequired },
  DefinitionVersionDocument: {
    type: "object",
    additionalProperties: false,
    properties: { ...versionProperties, definition: { type: "object", description: "the report_definitions document of this version" } },
    required: [...versionRequired, "definition"],
  },
  SavedDefinition: {
    type: "object",
    additionalProperties: false,
    properties: {
      name: { type: "string" },
      version: { type: "integer", minimum: 1 },
      restored_from: { type: "integer", minimum: 1 },
      report: ref("ReportDescription"),
      links: {
        type: "object",
        additionalProperties: false,
        properties: { self: { type: "string" }, versions: { type: "string" } },
        required: ["self", "versions"],
      },
    },
    required: ["name", "version", "report", "links"],
  },
};

export function definitionVersionRoutes(deps: DefinitionVersionRouteDeps): RouteDeclaration[] {
  function refuseCodeReport(name: string): void {
    const existing = deps.catalogue.get(name);
    if (existing && existing.kind !== "data") {
      throw new ProblemError(PROBLEMS.codeDefinedReport, `${name} is defined in code and cannot be changed through the API`);
    }
  }

  /** Saves and serves at once; a refused definition is a 422 with its reasons. */
  async function save(ctx: Context, body: Record<string, unknown>, source: "api" | "restore", restoredFrom?: number): Promise<void> {
    const name = ctx.params.name;
    refuseCodeReport(name);
    let saved: { version: number; created: boolean };
    try {
      saved = await deps.versions.save(body, source, restoredFrom);
    } catch (error) {
      if (error instanceof InvalidDefinitionError) throw invalidDefinition(error);
      throw error;
    }
    await deps.refreshCatalogue();
    const compiled = deps.versions.compile(body);
    ctx.status = saved.created ? 201 : 200;
    ctx.set("Location", definitionPath(name));
    ctx.body = {
      name,
      version: saved.version,
      ...(restoredFrom === undefined ? {} : { restored_from: restoredFrom }),
      ...(compiled.ok ? { report: { ...describeReport(compiled.report), version: saved.version } } : {}),
      links: { self: definitionPath(name), versions: `${definitionPath(name)}/versions` },
    };
  }

  const saved = jsonContent(ref("SavedDefinition"));
  const savedResponses = {
    200: { description: "Replaced: the new version serves", content: saved },
    201: { description: "Created (or brought back after being retired): the new version serves", content: saved },
  };
  const common = { tags: ["discovery"], components: DEFINITION_VERSION_SCHEMAS };
  return [
    route({
      ...common,
      method: "PUT",
      path: "/v1/report-definitions/:name",
      operationId: "putReportDefinition",
      summary: "Create or replace a data-defined report, as a new version (the report_definitions document)",
      access: "admin",
      parameters: [nameParameter],
      requestBody: { required: true, content: jsonContent(NAMED_DEFINITION_DOCUMENT_SCHEMA) },
      refuseBody: refuseDefinition,
      responses: savedResponses,
      problems: [PROBLEMS.invalidBody, PROBLEMS.invalidDefinition, PROBLEMS.codeDefinedReport],
      handler: async (ctx) => {
        const body = requireJsonObject(ctx);
        if (body.name !== undefined && body.name !== ctx.params.name) {
          const message = `name: ${JSON.stringify(body.name)} differs from the path's ${JSON.stringify(ctx.params.name)}`;
          throw new ProblemError(PROBLEMS.invalidDefinition, message, { extensions: { errors: [message] } });
        }
        // Bookkeeping a client may echo back from a read is not part of the definition.
        const { source: _source, version: _version, updated_at: _updated, _id, ...definition } = body;
        await save(ctx, { ...definition, name: ctx.params.name }, "api");
      },
    }),
    route({
      ...common,
      method: "DELETE",
      path: "/v1/report-definitions/:name",
      operationId: "retireReportDefinition",
      summary: "Retire a data-defined report; its versions stay and a restore brings it back",
      access: "admin",
      parameters: [nameParameter],
      responses: { 204: { description: "Retired" } },
      problems: [PROBLEMS.unknownReport, PROBLEMS.codeDefinedReport],
      handler: async (ctx) => {
        refuseCodeReport(ctx.params.name);
        if (!(await deps.versions.retire(ctx.params.name))) {
          throw new ProblemError(PROBLEMS.unknownReport, `no data-defined report named ${JSON.stringify(ctx.params.name)}`, {
            extensions: { available: deps.catalogue.list().map((r) => r.name) },
          });
        }
        await deps.refreshCatalogue();
        ctx.status = 204;
      },
    }),
    route({
      ...common,
      method: "GET",
      path: "/v1/report-definitions/:name/versions",
      operationId: "listReportDefinitionVersions",
      summary: "Every version of a data-defined report, oldest first, and which one serves",
      // Versions hold every definition ever stored, retired ones too: not discovery, a read.
      access: "read",
      parameters: [nameParameter],
      responses: {
        200: {
          description: "The versions",
          content: jsonContent({
            type: "object",
            additionalProperties: false,
            properties: {
              name: { type: "string" },
              current_version: { type: ["integer", "null"], description: "null while retired" },
              versions: { type: "array", items: ref("DefinitionVersion") },
            },
            required: ["name", "current_version", "versions"],
          }),
        },
      },
      problems: [PROBLEMS.unknownReport],
      handler: async (ctx) => {
        const name = ctx.params.name;
        const versions = await deps.versions.list(name);
        if (versions.length === 0) {
          throw new ProblemError(PROBLEMS.unknownReport, `no versions of a report named ${JSON.stringify(name)}`, {
            extensions: { available: deps.catalogue.list().map((r) => r.name) },
          });
        }
        const current = deps.catalogue.get(name)?.version;
        ctx.body = { name, current_version: current ?? null, versions: versions.map((v) => representVersion(v, current)) };
      },
    }),
    route({
      ...common,
      method: "GET",
      path: "/v1/report-definitions/:name/versions/:version",
      operationId: "getReportDefinitionVersion",
      summary: "One version of a data-defined report, with its document",
      // Versions hold every definition ever stored, retired ones too: not discovery, a read.
      access: "read",
      parameters: [nameParameter, versionParameter],
      responses: { 200: { description: "The version", content: jsonContent(ref("DefinitionVersionDocument")) } },
      problems: [PROBLEMS.invalidVersion, PROBLEMS.versionNotFound],
      handler: async (ctx) => {
        const found = await deps.versions.get(ctx.params.name, parseVersion(ctx.params.version));
        if (!found) throw versionNotFound(ctx.params.name, ctx.params.version);
        ctx.body = { ...representVersion(found, deps.catalogue.get(found.name)?.version), definition: found.definition };
      },
    }),
    route({
      ...common,
      method: "POST",
      path: "/v1/report-definitions/:name/versions/:version/restore",
      operationId: "restoreReportDefinitionVersion",
      summary: "Make an old version current again, as a new version (history is never rewritten)",
      access: "admin",
      parameters: [nameParameter, versionParameter],
      responses: savedResponses,
      problems: [PROBLEMS.invalidVersion, PROBLEMS.versionNotFound, PROBLEMS.invalidDefinition, PROBLEMS.codeDefinedReport],
      handler: async (ctx) => {
        const version = parseVersion(ctx.params.version);
        const found = await deps.versions.get(ctx.params.name, version);
        if (!found) throw versionNotFound(ctx.params.name, version);
        await save(ctx, found.definition, "restore", version);
      },
    }),
  ];
}
