/**
 * The package's entry for report authors: a report module types and builds itself from
 * `mongo-reports` (`import { defineReport, type ReportDefinition } from "mongo-reports"`, as a
 * graphile-worker task imports its `Task` type from "graphile-worker"), not from wherever the
 * service's sources happen to sit. What is exported here is what a report may rely on; the rest of
 * src/ may change without notice.
 */
export { COLUMN_TYPES, defineReport } from "./define.ts";
export type { Column, ColumnType, IndexDeclaration, ReportAliases, ReportDefinition } from "./define.ts";
export {
  choice,
  dateRange,
  dateValue,
  limitStage,
  listMatch,
  matchStage,
  minimum,
  nameList,
  numberRange,
  rangeMatch,
  topN,
  type DateRange,
  type NameList,
  type NumberRange,
} from "./filters.ts";
export { withJsonSchema } from "./json-schema.ts";
export { rankKeys, roundedKey } from "./ranking.ts";
