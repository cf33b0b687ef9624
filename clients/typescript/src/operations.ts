/**
 * Which method serves each operation of the OpenAPI document: `client.<method>` on the client,
 * `request.<method>` on a ReportRequest. The test suite reads the service's live document and
 * fails when an operation is in neither this table nor NOT_FOR_CLIENTS, or names a method that
 * does not exist; the Python client keeps the same table.
 */
export const OPERATIONS: Readonly<Record<string, string>> = {
  submitReport: "client.submit",
  // The alias routes take the same body without report_name; submit() always uses /v1/reports.
  submitReportOnCollection: "client.submit",
  submitReportOnAlias: "client.submit",
  getReport: "client.status",
  listReports: "client.history",
  followReport: "request.wait",
  cancelReport: "request.cancel",
  deleteReport: "request.remove",
  getReportCsv: "request.download",
  downloadReportFile: "request.download",
  listReportDefinitions: "client.reports",
  getReportDefinition: "client.report",
  putReportDefinition: "client.defineReport",
  retireReportDefinition: "client.retireReport",
  checkReportDefinition: "client.checkDefinition",
  listReportDefinitionVersions: "client.reportVersions",
  getReportDefinitionVersion: "client.reportVersion",
  restoreReportDefinitionVersion: "client.restoreReportVersion",
  createSchedule: "client.createSchedule",
  listSchedules: "client.schedules",
  getSchedule: "client.schedule",
  updateSchedule: "client.updateSchedule",
  deleteSchedule: "client.deleteSchedule",
  pauseSchedule: "client.pauseSchedule",
  resumeSchedule: "client.resumeSchedule",
  liveness: "client.health",
  readiness: "client.ready",
  openapi: "client.openapi",
  metrics: "client.metrics",
};

/** Operations for people or other tools, with the reason no client method wraps them. */
export const NOT_FOR_CLIENTS: Readonly<Record<string, string>> = {
  docs: "an HTML page for people (Swagger UI)",
};

/**
 * The method serving an operation. Each report's own routes (operation ids `submit_<collection>_<report>`,
 * one per report in the live catalogue) are aliases of submitReport.
 */
export function methodFor(operationId: string): string | undefined {
  return OPERATIONS[operationId] ?? (operationId.startsWith("submit_") ? OPERATIONS.submitReport : undefined);
}
