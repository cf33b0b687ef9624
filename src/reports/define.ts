/**
 * The small API a report author uses. A report is one module in `catalogue/<collection>/` that
 * default-exports `defineReport({...})`; the registry finds it, nothing else needs editing.
 */
import type { Document } from "mongodb";
import type { Struct } from "superstruct";

/**
 * What a column's values are. Exports keep it: numbers stay numbers in Excel, dates become Excel
 * dates and Parquet timestamps, and a Parquet file's schema is built from it. `json` is an array or
 * a nested document (JSON text in CSV, Excel and Parquet). A column without a type is written value
 * by value as it comes (Parquet: as text, numbers as their decimal text): leave a column of mixed
 * values (numbers and text) without one. In a Parquet integer, number, date or boolean column, null,
 * a missing field and "" are null.
 */
export const COLUMN_TYPES = ["string", "integer", "number", "date", "boolean", "json"] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface Column {
  name: string;
  description?: string;
  type?: ColumnType;
  /**
   * Decimal places a number in this column is rounded to (half away from zero), in the rows
   * themselves: the JSON pages and every file show the same value (7.65, never 7.6499999999999995).
   */
  precision?: number;
}

/**
 * An index a report's pipeline relies on to stay cheap on a large collection. The service creates
 * the declared indexes at start (CREATE_DATA_INDEXES), or lists them for an operator; rows never
 * depend on them.
 */
export interface IndexDeclaration {
  /** The collection to index: the report's own, or one its pipeline joins (default: its own). */
  collection?: string;
  /** The index key, in order; 1 ascending, -1 descending. */
  key: Record<string, 1 | -1>;
}

/**
 * Other spellings clients may use for a report (for example the design document's), each resolved
 * to the report and its canonical parameter names before anything is validated or stored. They are
 * listed in discovery and the OpenAPI document, never hidden.
 */
export interface ReportAliases {
  /** Other `report_name` values (POST /v1/reports, and POST /v1/<collection>/<alias>). */
  names?: string[];
  /** More POST routes under /v1/, e.g. "movies/directors-per-comments" or "movies-per-rating". */
  routes?: string[];
  /** Alias → canonical parameter name; validated exactly as the canonical one, stored under it. */
  parameters?: Record<string, string>;
}

export interface ReportDefinition<P = Record<string, unknown>> {
  /** URL-safe, kebab-case; the `report_name` clients send. */
  name: string;
  /** The collection the aggregation runs on; also decides the `/v1/<collection>/<name>` alias. */
  collection: string;
  description: string;
  /**
   * Validates and normalises the filters. Must be an `object()` struct (unknown keys rejected) and
   * idempotent: `create(create(x))` equals `create(x)`, because the worker re-validates what the
   * API already normalised and stored.
   */
  params: Struct<P, any>;
  /** Builds the aggregation from validated params. Values only ever come from `params`. */
  pipeline(params: P): Document[];
  /** Output columns, in order: rows are projected to exactly these fields. */
  columns: Column[];
  /** The order rows come in, as a $sort document (shown in discovery; data reports apply it). */
  sort?: Record<string, 1 | -1>;
  /** An example request body (without report_name), shown in discovery and docs. */
  example?: Record<string, unknown>;
  /** Other names, routes and parameter names for this report (see ReportAliases). */
  aliases?: ReportAliases;
  /** Indexes the pipeline needs on the data it reads (see IndexDeclaration). */
  indexes?: IndexDeclaration[];
  /**
   * One of `indexes` (on the report's own collection) to hint to the aggregation when it exists:
   * for a pipeline whose first `$match` may constrain none of the index's fields (an optional
   * filter left out), where the planner would otherwise scan the collection even though the index
   * covers every field the pipeline reads (it builds whole-index covered scans only when asked).
   * Without the index (CREATE_DATA_INDEXES=false and not built yet) the report runs unhinted.
   */
  hint?: Record<string, 1 | -1>;
  /** Per-report override of the run-time limit (aggregation maxTimeMS). */
  maxTimeMS?: number;
  /** Per-report override of how many attempts a failing run gets. */
  maxAttempts?: number;
  /** Set by the loaders: where the report came from (module path or definition id). */
  origin?: string;
  /** Set by the loaders: a module ("code") or a report_definitions document ("data"). */
  kind?: "code" | "data";
  /** Set by the loader for data reports: the definition version serving (see data-defined/versions.ts). */
  version?: number;
}

const NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const ROUTE_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)?$/;
const PARAMETER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

export function defineReport<P>(definition: ReportDefinition<P>): ReportDefinition<P> {
  if (!NAME_PATTERN.test(definition.name)) {
    throw new Error(`report name ${JSON.stringify(definition.name)} must be kebab-case (a-z, 0-9, -)`);
  }
  if (definition.columns.length === 0) throw new Error(`report ${definition.name} declares no columns`);
  const problems = [
    ...columnProblems(definition.columns),
    ...indexProblems(definition.indexes ?? []),
    ...aliasProblems(definition as ReportDefinition<any>),
  ];
  if (problems.length > 0) throw new Error(`report ${definition.name}: ${problems.join("; ")}`);
  return definition;
}

/** What is wrong with index declarations (an empty list when nothing is). */
export function indexProblems(indexes: readonly IndexDeclaration[]): string[] {
  const problems: string[] = [];
  indexes.forEach((index, i) => {
    const fields = Object.entries(index.key ?? {});
    if (fields.length === 0) problems.push(`indexes[${i}]: the key names no field`);
    for (const [field, direction] of fields) {
      if (field === "" || field.startsWith("$")) problems.push(`indexes[${i}]: ${JSON.stringify(field)} is not a field name`);
      if (direction !== 1 && direction !== -1) problems.push(`indexes[${i}]: ${field} must be 1 or -1`);
    }
  });
  return problems;
}

/** What is wrong with column declarations (an empty list when nothing is). */
export function columnProblems(columns: readonly Column[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  columns.forEach((column, i) => {
    if (seen.has(column.name)) problems.push(`columns[${i}]: ${JSON.stringify(column.name)} is declared twice`);
    seen.add(column.name);
    if (column.type !== undefined && !COLUMN_TYPES.includes(column.type)) {
      problems.push(`columns[${i}]: type must be one of ${COLUMN_TYPES.join(", ")}`);
    }
    if (column.precision !== undefined) {
      if (!Number.isInteger(column.precision) || column.precision < 0 || column.precision > 15) {
        problems.push(`columns[${i}]: precision must be a whole number of decimal places from 0 to 15`);
      }
      if (column.type !== undefined && column.type !== "number") problems.push(`columns[${i}]: precision applies to type number only`);
    }
  });
  return problems;
}

/** Parameter names the report's struct knows (an `object()` struct's schema keys). */
function parameterNames(report: ReportDefinition<any>): string[] | undefined {
  const schema = (report.params as { schema?: unknown }).schema;
  return schema && typeof schema === "object" ? Object.keys(schema) : undefined;
}

/** What is wrong with a report's aliases on their own (an empty list when nothing is). */
export function aliasProblems(report: ReportDefinition<any>): string[] {
  const problems: string[] = [];
  for (const name of report.aliases?.names ?? []) {
    if (!NAME_PATTERN.test(name)) problems.push(`aliases.names: ${JSON.stringify(name)} must be kebab-case`);
    if (name === report.name) problems.push(`aliases.names: ${name} is the report's own name`);
  }
  for (const route of report.aliases?.routes ?? []) {
    if (!ROUTE_PATTERN.test(route)) problems.push(`aliases.routes: ${JSON.stringify(route)} must be one or two kebab-case segments`);
    if (route === "reports" || route.startsWith("reports/") || route.startsWith("report-definition")) {
      problems.push(`aliases.routes: ${route} is one of the service's own routes`);
    }
  }
  const known = parameterNames(report);
  for (const [alias, canonical] of Object.entries(report.aliases?.parameters ?? {})) {
    if (!PARAMETER_PATTERN.test(alias)) problems.push(`aliases.parameters: ${JSON.stringify(alias)} is not a parameter name`);
    if (known && !known.includes(canonical)) problems.push(`aliases.parameters: ${alias} names ${canonical}, which is not a parameter`);
    if (known?.includes(alias)) problems.push(`aliases.parameters: ${alias} is a parameter of its own`);
    if (alias === "report_name" || alias === "output") problems.push(`aliases.parameters: ${alias} is a request field`);
  }
  return problems;
}
