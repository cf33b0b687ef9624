/**
 * Discovery: which reports exist, what they take (JSON Schema generated from the structs the API
 * validates with), what they return, and an example body. Also a dry-run check for authors of
 * data-defined reports, which stores nothing.
 */
import Router from "@koa/router";
import type { Context } from "koa";
import type { RejectedReport, ReportCatalogue } from "../../reports/registry.ts";
import type { ReportDefinition } from "../../reports/define.ts";
import { compileDefinition } from "../../reports/data-defined/compile.ts";
import { toJsonSchema } from "../../reports/json-schema.ts";
import { ProblemError } from "../problem.ts";

/** The catalogue as discovery needs it; `rejected` is optional so any ReportCatalogue works. */
export type DiscoverableCatalogue = ReportCatalogue & { rejected?(): RejectedReport[] };

export function describeReport(report: ReportDefinition<any>): Record<string, unknown> {
  return {
    name: report.name,
    collection: report.collection,
    description: report.description,
    kind: report.kind ?? "code",
    parameters: toJsonSchema(report.params),
    columns: report.columns,
    ...(report.sort ? { sort: report.sort } : {}),
    example: { report_name: report.name, ...(report.example ?? {}) },
    links: {
      self: `/v1/report-definitions/${report.name}`,
      submit: "/v1/reports",
      alias: `/v1/${report.collection}/${report.name}`,
    },
  };
}

/** What discovery shows of a rejected module or definition: never a server file path. */
function describeRejected(entry: RejectedReport): Record<string, unknown> {
  const origin = entry.kind === "code" ? entry.origin.split(/[\\/]/).slice(-2).join("/") : entry.origin;
  return { kind: entry.kind, ...(entry.name ? { name: entry.name } : {}), origin, errors: entry.errors };
}

function unknownReport(catalogue: ReportCatalogue, name: string): ProblemError {
  return new ProblemError(404, "unknown-report", "Unknown report", `no report named ${JSON.stringify(name)}`, {
    available: catalogue.list().map((r) => r.name),
  });
}

export function definitionRoutes(catalogue: DiscoverableCatalogue): Router {
  const router = new Router();
  router.get("/v1/report-definitions", (ctx) => {
    ctx.body = {
      reports: catalogue.list().map(describeReport),
      // Broken modules and definitions are listed with their reasons instead of vanishing.
      rejected: (catalogue.rejected?.() ?? []).map(describeRejected),
    };
  });
  router.get("/v1/report-definitions/:name", (ctx) => {
    const report = catalogue.get(ctx.params.name);
    if (!report) throw unknownReport(catalogue, ctx.params.name);
    ctx.body = describeReport(report);
  });
  // Checks a report_definitions document without storing it: the same checks as at load time.
  router.post("/v1/report-definition-checks", (ctx: Context) => {
    const body = ctx.request.body;
    if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new ProblemError(400, "invalid-body", "Invalid request body", "send the report definition document as a JSON object");
    }
    const compiled = compileDefinition(body);
    if (!compiled.ok) {
      throw new ProblemError(422, "invalid-definition", "Invalid report definition", compiled.errors.join("; "), {
        ...(compiled.name ? { name: compiled.name } : {}),
        errors: compiled.errors,
      });
    }
    ctx.body = { valid: true, report: describeReport(compiled.report) };
  });
  return router;
}
