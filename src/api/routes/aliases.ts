/**
 * The design document's submit routes, as aliases of POST /v1/reports: `POST /v1/<collection>/<name>`
 * for every report, plus the routes each report declares (`aliases.routes`, e.g.
 * /v1/movies/directors-per-comments or /v1/movies-per-rating). Which report a route runs is
 * decided by the catalogue (reports/aliases.ts), not by the collection in the path. Each concrete
 * alias is listed in the OpenAPI document with its report's exact body.
 */
import type { Context } from "koa";
import type { NamedOutput } from "../../requests/output.ts";
import { resolveRoute, routesOf, routesUnder } from "../../reports/aliases.ts";
import type { ReportDefinition } from "../../reports/define.ts";
import type { ReportCatalogue } from "../../reports/registry.ts";
import type { ProblemType } from "../problems.ts";
import type { ProblemError } from "../problems.ts";
import { unknownReportProblem } from "../unknown-report.ts";
import type { FieldError } from "../declared-input.ts";
import { parametersSchemaName, perCatalogue, reportBodySchemas, type EnvelopeOptions } from "../report-bodies.ts";
import { REPRESENTATION_SCHEMAS } from "../../requests/representation.ts";
import { jsonContent, ref, route, type ParameterDeclaration, type ResponseDeclaration, type RouteDeclaration } from "../route.ts";

export interface AliasRouteDeps {
  catalogue: ReportCatalogue;
  outputs: readonly NamedOutput[];
  /** What POST /v1/reports takes and answers, shared by its aliases. */
  parameters: ParameterDeclaration[];
  responses: Record<number, ResponseDeclaration>;
  problems: readonly ProblemType[];
  submit(ctx: Context, report: ReportDefinition<any>): Promise<void>;
  envelope: EnvelopeOptions;
  /** The problem for a body its report's schema refuses (see reports.ts). */
  refuseBody(errors: FieldError[], body: unknown, report?: ReportDefinition<any>): ProblemError;
}

/** Concrete alias paths with `segments` segments after /v1/, for the document. */
function expansions(catalogue: ReportCatalogue, segments: 1 | 2) {
  return catalogue.list().flatMap((report) =>
    routesOf(report)
      .filter((path) => path.split("/").length === segments)
      .map((path) => ({
        path: `/v1/${path}`,
        operationId: `submit_${path.replace(/[^a-z0-9]+/g, "_")}`,
        summary: path === `${report.collection}/${report.name}` ? report.description : `Alias of ${report.name}: ${report.description}`,
        tags: [report.collection],
        requestBody: ref(parametersSchemaName(report)),
      })),
  );
}

export function aliasRoutes(deps: AliasRouteDeps): RouteDeclaration[] {
  const body = {
    required: true,
    content: jsonContent({
      type: "object",
      description: "the report's parameters (report_name optional; if given, it must name this report)",
    }),
  };
  const components = perCatalogue(deps.catalogue, () => ({
    ...REPRESENTATION_SCHEMAS,
    ...reportBodySchemas(deps.catalogue, deps.envelope),
  }));
  // A concrete alias path is checked against its report's schema (router.ts); say it in the report's words.
  const refuseBody = (errors: FieldError[], body: unknown, _keywords: ReadonlySet<string>, ctx: Context) =>
    deps.refuseBody(errors, body, resolveRoute(deps.catalogue.list(), ctx.path.replace(/^\/v1\//, "")));
  const run = (ctx: Context, path: string, prefix?: string) => {
    const report = resolveRoute(deps.catalogue.list(), path);
    if (!report) {
      // The names that answer on this very route (POST /v1/<prefix>/<name>), not every report's name.
      const given = prefix ? path.slice(prefix.length + 1) : path;
      throw unknownReportProblem(`no report on POST /v1/${path}`, given, routesUnder(deps.catalogue.list(), prefix));
    }
    return deps.submit(ctx, report);
  };
  return [
    route({
      method: "POST",
      path: "/v1/:collection/:report_name",
      operationId: "submitReportOnCollection",
      summary: "The design document's per-collection route: `POST /v1/{collection}/{report_name}`, an alias of POST /v1/reports",
      description:
        "Every report answers on `/v1/{its collection}/{its name}` (and each name alias); a report may declare more routes, such as /v1/movies/directors-per-comments. Each is listed as its own path with its exact body.",
      tags: ["reports"],
      access: "submit",
      parameters: [
        { name: "collection", in: "path", required: true, schema: { type: "string" } },
        { name: "report_name", in: "path", required: true, schema: { type: "string" } },
        ...deps.parameters,
      ],
      requestBody: body,
      components,
      refuseBody,
      expansions: () => expansions(deps.catalogue, 2),
      responses: deps.responses,
      problems: deps.problems,
      handler: (ctx) => run(ctx, `${ctx.params.collection}/${ctx.params.report_name}`, ctx.params.collection),
    }),
    route({
      method: "POST",
      path: "/v1/:report_route",
      operationId: "submitReportOnAlias",
      summary: "A report's one-segment alias route (e.g. POST /v1/movies-per-rating), an alias of POST /v1/reports",
      description: "Only the routes reports declare exist; each is listed as its own path with its exact body.",
      tags: ["reports"],
      access: "submit",
      parameters: [{ name: "report_route", in: "path", required: true, schema: { type: "string" } }, ...deps.parameters],
      requestBody: body,
      components,
      refuseBody,
      expansions: () => expansions(deps.catalogue, 1),
      responses: deps.responses,
      problems: deps.problems,
      handler: (ctx) => run(ctx, ctx.params.report_route),
    }),
  ];
}
