/** Discovery: which reports exist, what they take and what they return. */
import Router from "@koa/router";
import type { ReportCatalogue } from "../../reports/registry.ts";
import type { ReportDefinition } from "../../reports/define.ts";
import { ProblemError } from "../problem.ts";

export function describeReport(report: ReportDefinition<any>): Record<string, unknown> {
  return {
    name: report.name,
    collection: report.collection,
    description: report.description,
    parameters: Object.keys((report.params as { schema?: Record<string, unknown> }).schema ?? {}),
    columns: report.columns,
    example: { report_name: report.name, ...(report.example ?? {}) },
    links: { submit: "/v1/reports", alias: `/v1/${report.collection}/${report.name}` },
  };
}

export function definitionRoutes(catalogue: ReportCatalogue): Router {
  const router = new Router();
  router.get("/v1/report-definitions", (ctx) => {
    ctx.body = { reports: catalogue.list().map(describeReport) };
  });
  router.get("/v1/report-definitions/:name", (ctx) => {
    const report = catalogue.get(ctx.params.name);
    if (!report) {
      throw new ProblemError(404, "unknown-report", "Unknown report", `no report named ${JSON.stringify(ctx.params.name)}`, {
        available: catalogue.list().map((r) => r.name),
      });
    }
    ctx.body = describeReport(report);
  });
  return router;
}
