/**
 * A request document as an integration can insert it straight into `report_requests`: already
 * completed, its result naming a file (`csv`) that the service did not write for it. The tests of
 * what enters through MongoDB forge these to show that no stored location is ever trusted.
 */

export interface ForgedResult {
  row_count: number;
  columns: string[];
  /** The file location the document claims as its CSV. */
  csv: Record<string, unknown>;
}

/** `fields` add to or replace the document's top-level fields (an `_id`, an `owner`, a `callback`, old dates). */
export function forgedCompletedRequest(reportName: string, result: ForgedResult, fields: Record<string, unknown> = {}): any {
  const now = new Date();
  return {
    report_name: reportName,
    params: {},
    output: "csv",
    status: "completed",
    attempts: 1,
    lease: null,
    report_date: now,
    finished_at: now,
    result: { attempt: 1, rows_per_chunk: 1000, ...result },
    ...fields,
  };
}
