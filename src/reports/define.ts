/**
 * The small API a report author uses. A report is one module in `catalogue/<collection>/` that
 * default-exports `defineReport({...})`; the registry finds it, nothing else needs editing.
 */
import type { Document } from "mongodb";
import type { Struct } from "superstruct";

export interface Column {
  name: string;
  description?: string;
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
  /** Per-report override of the run-time limit (aggregation maxTimeMS). */
  maxTimeMS?: number;
  /** Per-report override of how many attempts a failing run gets. */
  maxAttempts?: number;
  /** Set by the loaders: where the report came from (module path or definition id). */
  origin?: string;
  /** Set by the loaders: a module ("code") or a report_definitions document ("data"). */
  kind?: "code" | "data";
}

const NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export function defineReport<P>(definition: ReportDefinition<P>): ReportDefinition<P> {
  if (!NAME_PATTERN.test(definition.name)) {
    throw new Error(`report name ${JSON.stringify(definition.name)} must be kebab-case (a-z, 0-9, -)`);
  }
  if (definition.columns.length === 0) throw new Error(`report ${definition.name} declares no columns`);
  return definition;
}
