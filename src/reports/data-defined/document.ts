/**
 * A data-defined report: one document in `report_definitions`. Its shape is checked here; what
 * its parameters and pipeline may contain is checked by parameters.ts and template.ts.
 */
import {
  array,
  enums,
  integer,
  literal,
  max,
  min,
  object,
  optional,
  pattern,
  record,
  size,
  string,
  type,
  union,
  unknown,
  type Infer,
} from "superstruct";
import { COLLECTIONS } from "../../db.ts";
import { COLUMN_TYPES } from "../define.ts";

export const REPORT_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const COLLECTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$/;

/** Collections a definition may neither read nor join: the service's own state. */
export const PRIVATE_COLLECTIONS: readonly string[] = Object.values(COLLECTIONS);

/**
 * What a deployment lets definitions reach (DEFINITION_COLLECTIONS, HIDDEN_FIELDS): collections
 * come from an allow-list, so a definition written by an admin key cannot hand another key the
 * contents of a collection nobody meant to report on (user accounts, say); hidden fields are refused.
 */
export interface DefinitionPolicy {
  collections: readonly string[];
  hiddenFields: readonly string[];
}

export function definitionPolicy(config: { definitionCollections: readonly string[]; hiddenFields: readonly string[] }): DefinitionPolicy {
  return { collections: config.definitionCollections, hiddenFields: config.hiddenFields };
}

/** Why a definition may not read `name`; with a policy, only its collections are allowed. */
export function collectionProblem(name: string, policy?: DefinitionPolicy): string | undefined {
  if (!COLLECTION_NAME.test(name)) return `${JSON.stringify(name)} is not a collection name`;
  if (name.startsWith("system.")) return `${JSON.stringify(name)} is a system collection`;
  if (PRIVATE_COLLECTIONS.includes(name)) return `${JSON.stringify(name)} holds the service's own state and cannot be reported on`;
  if (policy && !policy.collections.includes(name)) {
    return `${JSON.stringify(name)} is not among the collections definitions may read (DEFINITION_COLLECTIONS: ${policy.collections.join(", ") || "none"})`;
  }
  return undefined;
}

export const DefinitionDocument = type({
  name: pattern(size(string(), 1, 100), REPORT_NAME),
  collection: size(string(), 1, 120),
  description: size(string(), 1, 2000),
  /** The parameter schema: { type: "object", properties: {...}, required?: [...] }. */
  parameters: type({
    type: literal("object"),
    properties: record(string(), unknown()),
    required: optional(array(string())),
  }),
  /** The pipeline template: stages with { "$param": "<name>" } placeholders. */
  pipeline: size(array(record(string(), unknown())), 1, 100),
  /** Output columns; `type` and `precision` as in a code report's columns (reports/define.ts). */
  columns: size(
    array(
      object({
        name: size(string(), 1, 100),
        description: optional(string()),
        type: optional(enums(COLUMN_TYPES)),
        precision: optional(min(max(integer(), 15), 0)),
      }),
    ),
    1,
    100,
  ),
  /** Default row order; appended as a $sort when the template does not sort itself. */
  sort: optional(record(string(), union([literal(1), literal(-1)]))),
  /** Collections the template may $lookup into; anything else is refused. */
  lookups: optional(array(string())),
  /** Indexes the pipeline needs: on `collection` (default: the report's) or a collection in `lookups`. */
  indexes: optional(
    size(array(object({ collection: optional(size(string(), 1, 120)), key: record(string(), union([literal(1), literal(-1)])) })), 0, 10),
  ),
  /** An example request body (without report_name) for discovery and docs. */
  example: optional(record(string(), unknown())),
  max_time_ms: optional(min(max(integer(), 86_400_000), 1000)),
  max_attempts: optional(min(max(integer(), 100), 1)),
  /** Where it came from: "seed" for the documents the service ships, else whoever stored it. */
  source: optional(enums(["seed", "api", "manual"])),
});

export type DefinitionDocument = Infer<typeof DefinitionDocument>;

const indexKey = { type: "object", additionalProperties: { enum: [1, -1] } };

/**
 * DefinitionDocument as JSON Schema, written out because superstruct forgets its refinements'
 * bounds (json-schema.ts): the shape the API checks before compiling a definition. What the
 * shape cannot say (which stages and operators, which collections) the compiler refuses with 422.
 */
export const DEFINITION_DOCUMENT_SCHEMA = {
  type: "object",
  description: "a report_definitions document",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 100, pattern: REPORT_NAME.source },
    collection: { type: "string", minLength: 1, maxLength: 120 },
    description: { type: "string", minLength: 1, maxLength: 2000 },
    parameters: {
      type: "object",
      properties: {
        type: { const: "object" },
        properties: { type: "object" },
        required: { type: "array", items: { type: "string" } },
      },
      required: ["type", "properties"],
    },
    pipeline: { type: "array", minItems: 1, maxItems: 100, items: { type: "object" } },
    columns: {
      type: "array",
      minItems: 1,
      maxItems: 100,
      items: {
        type: "object",
        additionalProperties: false,
        properties: { name: { type: "string", minLength: 1, maxLength: 100 }, description: { type: "string" } },
        required: ["name"],
      },
    },
    sort: indexKey,
    lookups: { type: "array", items: { type: "string" } },
    indexes: {
      type: "array",
      maxItems: 10,
      items: {
        type: "object",
        additionalProperties: false,
        properties: { collection: { type: "string", minLength: 1, maxLength: 120 }, key: indexKey },
        required: ["key"],
      },
    },
    example: { type: "object" },
    max_time_ms: { type: "integer", minimum: 1000, maximum: 86_400_000 },
    max_attempts: { type: "integer", minimum: 1, maximum: 100 },
    source: { enum: ["seed", "api", "manual"] },
  },
  required: ["name", "collection", "description", "parameters", "pipeline", "columns"],
};

/** PUT /v1/report-definitions/{name}: the same document, its name taken from the path when left out. */
export const NAMED_DEFINITION_DOCUMENT_SCHEMA = {
  ...DEFINITION_DOCUMENT_SCHEMA,
  required: DEFINITION_DOCUMENT_SCHEMA.required.filter((field) => field !== "name"),
};
