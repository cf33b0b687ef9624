/** @mongo-reports/client: submit a report, wait for it, read its rows. */
export {
  createClient,
  MongoReportsClient,
  type ClientOptions,
  type SubmitOptions,
  type ReportStatus,
  type ReportDescription,
  type HistoryFilter,
  type HistoryPage,
  type Schedule,
  type ScheduleInput,
  type KnownReport,
  type ParamsOf,
  type Output,
} from "./client.ts";
export { ReportRequest, isFinal, hasRows, type WaitOptions, type Progress } from "./request.ts";
export { ApiError, ReportFailedError, WaitTimeoutError, type Problem, type ProblemSlug, type ProblemOf } from "./problems.ts";
export { readEvents, type ServerSentEvent } from "./sse.ts";
export { OPERATIONS, NOT_FOR_CLIENTS, methodFor } from "./operations.ts";
export type { paths, components, operations } from "./openapi.ts";
