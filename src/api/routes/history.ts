/**
 * GET /v1/reports: the requests made, newest first, filterable by report and status, paged with
 * a cursor (`after` = the last id of the previous page) so a page never shifts while new
 * requests arrive. Scoped to the caller's API key when access control is on.
 */
import { ObjectId } from "mongodb";
import { STATUSES, type RequestStatus } from "../../requests/status.ts";
import type { HistoryQuery, RequestStore } from "../../requests/store.ts";
import { callerVisibility } from "../access.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { REPRESENTATION_SCHEMAS, representRequest } from "../../requests/representation.ts";
import { ID_PATTERN } from "../request-id.ts";
import { jsonContent, ref, route, type RouteDeclaration } from "../route.ts";
import { resolveReportName } from "../../reports/aliases.ts";
import type { ReportCatalogue } from "../../reports/registry.ts";
import { closestName } from "../../reports/closest-name.ts";

export const HISTORY_LIMIT_DEFAULT = 20;
export const HISTORY_LIMIT_MAX = 100;

export interface HistoryRouteDeps {
  store: RequestStore;
  catalogue: ReportCatalogue;
}

function invalidQuery(field: string, message: string): ProblemError {
  return new ProblemError(PROBLEMS.invalidQuery, `${field}: ${message}`, { extensions: { errors: [{ field, message }] } });
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string") throw invalidQuery(name, "give it once");
  return raw;
}

/** The query string as a history query, or a 400 naming every bad parameter's field. */
export function parseHistoryQuery(query: Record<string, unknown>): HistoryQuery {
  const reportName = single(query, "report_name");
  const status = single(query, "status");
  if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
    throw invalidQuery("status", `must be one of ${STATUSES.join(", ")}`);
  }
  const after = single(query, "after");
  if (after !== undefined && !/^[0-9a-f]{24}$/i.test(after)) throw invalidQuery("after", "must be a report id (24 hexadecimal characters)");
  const limitText = single(query, "limit");
  if (limitText !== undefined && !/^\d{1,4}$/.test(limitText))
    throw invalidQuery("limit", `must be a whole number from 1 to ${HISTORY_LIMIT_MAX}`);
  const limit = limitText === undefined ? HISTORY_LIMIT_DEFAULT : Number(limitText);
  if (limit < 1 || limit > HISTORY_LIMIT_MAX) throw invalidQuery("limit", `must be from 1 to ${HISTORY_LIMIT_MAX}`);
  return {
    limit,
    ...(reportName === undefined ? {} : { report_name: reportName }),
    ...(status === undefined ? {} : { status: status as RequestStatus }),
    ...(after === undefined ? {} : { after: new ObjectId(after) }),
  };
}

function historyLink(query: HistoryQuery, after: string): string {
  const search = new URLSearchParams();
  if (query.report_name !== undefined) search.set("report_name", query.report_name);
  if (query.status !== undefined) search.set("status", query.status);
  search.set("limit", String(query.limit));
  search.set("after", after);
  return `/v1/reports?${search}`;
}

/** The schema of the list body built below. */
const HISTORY_SCHEMA = {
  type: "object",
  description: "One page of requests, newest first; next_after (and links.next) when there are older ones",
  additionalProperties: false,
  properties: {
    items: { type: "array", items: ref("ReportRequestStatus") },
    limit: { type: "integer", minimum: 1, maximum: HISTORY_LIMIT_MAX },
    next_after: { type: "string", pattern: ID_PATTERN, description: "pass as after= for the next (older) page" },
    notice: { type: "string", description: "why an empty page may be a typo: report_name is no report, and the nearest one" },
    links: { type: "object", additionalProperties: false, properties: { next: { type: "string" } } },
  },
  required: ["items", "limit", "links"],
};

/** An empty page filtered by a name no report has: most likely a typo, so name the nearest report. */
function unknownNameNotice(name: string, reports: string[]): string {
  const suggestion = closestName(name, reports);
  return `no report is named ${JSON.stringify(name)}${suggestion ? `; did you mean ${JSON.stringify(suggestion)}?` : ""}`;
}

export function historyRoutes(deps: HistoryRouteDeps): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/v1/reports",
      operationId: "listReports",
      summary: "The requests made (yours, when API keys are on; every one for admin keys), newest first, with cursor paging",
      tags: ["reports"],
      access: "read",
      parameters: [
        { name: "report_name", in: "query", schema: { type: "string" }, description: "only this report's requests" },
        { name: "status", in: "query", schema: { type: "string", enum: [...STATUSES] } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: HISTORY_LIMIT_MAX, default: HISTORY_LIMIT_DEFAULT } },
        {
          name: "after",
          in: "query",
          schema: { type: "string", pattern: ID_PATTERN },
          description: "next_after of the previous page: only requests older than this one",
        },
      ],
      components: { ...REPRESENTATION_SCHEMAS, ReportRequestList: HISTORY_SCHEMA },
      responses: { 200: { description: "One page of requests", content: jsonContent(ref("ReportRequestList")) } },
      problems: [PROBLEMS.invalidQuery],
      handler: async (ctx) => {
        const parsed = parseHistoryQuery(ctx.query);
        // A name alias (the design document's names among them) filters as the report it stands for, as at submit.
        const report = parsed.report_name === undefined ? undefined : resolveReportName(deps.catalogue.list(), parsed.report_name);
        const query = report ? { ...parsed, report_name: report.name } : parsed;
        const { requests, more, last } = await deps.store.history(query, callerVisibility(ctx));
        // A name no report has (now) still filters (a retired report, a name a Mongo-native insert invented);
        // finding nothing, it is most likely a typo: the empty page says so, and names the nearest report.
        const notice =
          query.report_name !== undefined && !report && requests.length === 0 && query.after === undefined
            ? unknownNameNotice(
                query.report_name,
                deps.catalogue.list().map((r) => r.name),
              )
            : undefined;
        const next = more && last ? String(last) : undefined;
        ctx.body = {
          items: requests.map(representRequest),
          ...(notice ? { notice } : {}),
          limit: query.limit,
          ...(next ? { next_after: next } : {}),
          links: { ...(next ? { next: historyLink(query, next) } : {}) },
        };
      },
    }),
  ];
}
