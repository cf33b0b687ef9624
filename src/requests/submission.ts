/**
 * What a report request body means: which report, which output, which validated parameters. One
 * function used wherever a body is accepted (the submit route, a schedule's creation, a schedule
 * firing later), so a body is valid in one place exactly when it is valid in the others.
 */
import type { ReportDefinition } from "../reports/define.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { ValidationError, validateParams, type FieldError } from "../reports/validation.ts";
import type { OutputKind } from "./document.ts";

/** Body fields that describe the request itself; every other field is a report parameter. */
const ENVELOPE_FIELDS = new Set(["report_name", "output", "callback_url"]);

export interface Submission {
  report: ReportDefinition<any>;
  report_name: string;
  params: Record<string, unknown>;
  output: OutputKind;
}

export class UnknownReportSubmission extends Error {
  override name = "UnknownReportSubmission";
  constructor(
    readonly reportName: string,
    /** The reports that exist (on `collection` when one was given). */
    readonly available: string[],
    readonly collection?: string,
  ) {
    super(`no report named ${JSON.stringify(reportName)}${collection ? ` on ${collection}` : ""}`);
  }
}

export interface SubmissionOptions {
  /** Output kinds this deployment can deliver. */
  outputs: readonly OutputKind[];
  /** The report name when the route carries it (the per-collection alias). */
  reportName?: string;
  /** The report must run on this collection (the per-collection alias). */
  collection?: string;
}

/**
 * Throws UnknownReportSubmission, or ValidationError naming every bad field; otherwise returns
 * the request as it is stored.
 */
export function parseSubmission(body: Record<string, unknown>, catalogue: ReportCatalogue, options: SubmissionOptions): Submission {
  const reportName = body.report_name ?? options.reportName;
  if (typeof reportName !== "string" || reportName.length === 0) {
    throw new ValidationError([{ field: "report_name", message: "required: the name of the report to run" }]);
  }
  const report = catalogue.get(reportName);
  if (!report || (options.collection !== undefined && report.collection !== options.collection)) {
    const available = catalogue
      .list()
      .filter((r) => options.collection === undefined || r.collection === options.collection)
      .map((r) => r.name);
    throw new UnknownReportSubmission(reportName, available, options.collection);
  }
  const output = body.output ?? "json";
  if (typeof output !== "string" || !(options.outputs as readonly string[]).includes(output)) {
    throw new ValidationError([{ field: "output", message: `must be one of ${options.outputs.join(", ")}` }]);
  }
  const rawParams: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!ENVELOPE_FIELDS.has(key)) rawParams[key] = value;
  const params = validateParams(rawParams, report.params) as Record<string, unknown>;
  return { report, report_name: report.name, params, output: output as OutputKind };
}

export type { FieldError };
