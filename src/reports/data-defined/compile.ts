/**
 * A report_definitions document → a ReportDefinition the worker and API use like any code report,
 * or every reason it cannot be one. Used when a definition is stored and whenever it is loaded,
 * so a document inserted straight into MongoDB gets the same checks as one sent to the API.
 */
import type { Document } from "mongodb";
import { validate } from "superstruct";
import { columnProblems, indexProblems, type ReportDefinition } from "../define.ts";
import { toFieldErrors } from "../validation.ts";
import { collectionProblem, DefinitionDocument, type DefinitionPolicy } from "./document.ts";
import { hiddenFieldProblems } from "./hidden-fields.ts";
import { compileParameters } from "./parameters.ts";
import { checkTemplate, renderTemplate } from "./template.ts";

export type CompileResult =
  | { ok: true; report: ReportDefinition<Record<string, unknown>>; definition: DefinitionDocument }
  | { ok: false; name?: string; errors: string[] };

export function compileDefinition(raw: unknown, policy: DefinitionPolicy, origin?: string): CompileResult {
  const name =
    raw && typeof raw === "object" && typeof (raw as { name?: unknown }).name === "string" ? (raw as { name: string }).name : undefined;
  const [shapeError, definition] = validate(raw, DefinitionDocument);
  if (shapeError) {
    return { ok: false, name, errors: toFieldErrors(shapeError).map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)) };
  }
  const errors: string[] = [];
  const collection = collectionProblem(definition.collection, policy);
  if (collection) errors.push(`collection: ${collection}`);
  const lookups = definition.lookups ?? [];
  for (const lookup of lookups) {
    const problem = collectionProblem(lookup, policy);
    if (problem) errors.push(`lookups: ${problem}`);
  }
  errors.push(
    ...hiddenFieldProblems(definition.pipeline, policy, "pipeline"),
    ...hiddenFieldProblems(definition.columns, policy, "columns"),
    ...hiddenFieldProblems(definition.sort ?? {}, policy, "sort"),
    ...hiddenFieldProblems(definition.indexes ?? [], policy, "indexes"),
  );
  const indexes = definition.indexes ?? [];
  errors.push(...indexProblems(indexes));
  for (const index of indexes) {
    // An index only where the report reads: its own collection or one it joins.
    if (index.collection !== undefined && index.collection !== definition.collection && !lookups.includes(index.collection)) {
      errors.push(`indexes: ${JSON.stringify(index.collection)} is neither the report's collection nor in lookups`);
    }
  }
  const parameters = compileParameters(definition.parameters);
  errors.push(...parameters.errors);
  const template = definition.pipeline as Document[];
  errors.push(...checkTemplate(template, { parameters: parameters.parameters, lookups }).errors);
  errors.push(...columnProblems(definition.columns));
  const columns = new Set(definition.columns.map((column) => column.name));
  if (definition.sort) {
    for (const field of Object.keys(definition.sort)) {
      if (field.startsWith("$")) errors.push(`sort: ${field} is not a field name`);
    }
  }
  if (definition.example) {
    const [exampleError] = validate(definition.example, parameters.struct, { coerce: true });
    if (exampleError) errors.push(...toFieldErrors(exampleError, ["example"]).map((e) => `${e.field}: ${e.message}`));
  }
  if (errors.length > 0) return { ok: false, name, errors };

  const sorts = template.some((stage) => "$sort" in stage || "$sortByCount" in stage);
  // Rows are exactly the declared columns, in order, whatever the template's last stage left.
  const projection: Document = { _id: columns.has("_id") ? 1 : 0 };
  for (const column of definition.columns) if (column.name !== "_id") projection[column.name] = 1;
  const report: ReportDefinition<Record<string, unknown>> = {
    name: definition.name,
    collection: definition.collection,
    description: definition.description,
    params: parameters.struct,
    pipeline: (params) => {
      const stages = renderTemplate(template, parameters.parameters, params);
      if (definition.sort && !sorts) {
        // The default order goes before a top-N $limit, so "top" keeps the first rows of it.
        const limit = stages.findIndex((stage) => "$limit" in stage);
        stages.splice(limit === -1 ? stages.length : limit, 0, { $sort: definition.sort });
      }
      return [...stages, { $project: projection }];
    },
    columns: definition.columns,
    ...(definition.sort ? { sort: definition.sort } : {}),
    ...(definition.example ? { example: definition.example } : {}),
    ...(indexes.length > 0 ? { indexes } : {}),
    ...(definition.max_time_ms ? { maxTimeMS: definition.max_time_ms } : {}),
    ...(definition.max_attempts ? { maxAttempts: definition.max_attempts } : {}),
    origin: origin ?? `report_definitions:${definition.name}`,
    kind: "data",
  };
  return { ok: true, report, definition };
}
