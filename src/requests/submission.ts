/**
 * What a report request body means: which report, which output, which validated parameters. One
 * function used wherever a body is accepted (the submit route, a schedule's creation, a schedule
 * firing later), so a body is valid in one place exactly when it is valid in the others.
 */
import type { ReportDefinition } from "../reports/define.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { ValidationError, type FieldError } from "../reports/validation.ts";
import { resolveReportName, validateWithAliases } from "../reports/aliases.ts";
import { outputProblem, type NamedOutput, type OutputKind } from "./output.ts";

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
  outputs: readonly NamedOutput[];
  /** The report the route runs (an alias route); a report_name in the body must then name it. */
  target?: ReportDefinition<any>;
}

/**
 * Throws UnknownReportSubmission, or ValidationError naming every bad field; otherwise returns
 * the request as it is stored. A report's aliases (reports/aliases.ts) resolve here: a name alias
 * to its report, parameter aliases to canonical names, so only canonical names are stored.
 */
export function parseSubmission(body: Record<string, unknown>, catalogue: ReportCatalogue, options: SubmissionOptions): Submission {
  const reportName = body.report_name;
  let report = options.target;
  if (reportName !== undefined || !report) {
    if (typeof reportName !== "string" || reportName.length === 0) {
      throw new ValidationError([{ field: "report_name", message: "required: the name of the report to run" }]);
    }
    const named = resolveReportName(catalogue.list(), reportName);
    if (!report && !named)
      throw new UnknownReportSubmission(
        reportName,
        catalogue.list().map((r) => r.name),
      );
    if (report && named !== report) {
      throw new ValidationError([
        { field: "report_name", message: `this route runs ${report.name}; leave report_name out or give that name` },
      ]);
    }
    report = named!;
  }
  const output = body.output ?? "json";
  const problem = outputProblem(output, options.outputs);
  if (problem) throw new ValidationError([{ field: "output", message: problem }]);
  const rawParams: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!ENVELOPE_FIELDS.has(key)) rawParams[key] = value;
  const params = validateWithAliases(report, rawParams);
  return { report, report_name: report.name, params, output: output as OutputKind };
}

export type { FieldError };
