/**
 * The 404 for a report name (or alias route) that answers nothing: what exists there, and the
 * nearest name when the one given looks like a typo of it.
 */
import { closestName } from "../reports/closest-name.ts";
import { PROBLEMS, ProblemError } from "./problems.ts";

export function unknownReportProblem(detail: string, given: string, available: string[]): ProblemError {
  const suggestion = closestName(given, available);
  return new ProblemError(PROBLEMS.unknownReport, suggestion ? `${detail}; did you mean ${JSON.stringify(suggestion)}?` : detail, {
    extensions: { available, ...(suggestion ? { did_you_mean: suggestion } : {}) },
  });
}
