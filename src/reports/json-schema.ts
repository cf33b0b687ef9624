/**
 * Superstruct → JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), so discovery and the
 * OpenAPI document describe parameters from the very structs the API validates with.
 *
 * Superstruct keeps a struct's `type` and `schema` but forgets refinement arguments (min, max,
 * size) and hides optionality inside the validator. So:
 *  - helpers that build filters (filters.ts) attach an exact JSON Schema with `withJsonSchema`;
 *  - everything else is walked by `type`/`schema` (object, type, number, integer, string,
 *    boolean, date, enums, literal, array, record; a union needs an annotation);
 *  - a field is optional when the struct accepts `undefined` (optional() or defaulted()).
 */
import { validate, type Struct } from "superstruct";

export type JsonSchema = Record<string, unknown>;

/**
 * Annotations are keyed by the struct's `entries` function: superstruct's wrappers (optional,
 * refine, coerce, defaulted, min, max, size) copy it from the struct they wrap, so an annotation
 * on a helper's result survives the `optional(...)` a report author puts around it.
 */
const annotations = new WeakMap<object, JsonSchema>();

export function withJsonSchema<S extends Struct<any, any>>(struct: S, schema: JsonSchema): S {
  annotations.set(struct.entries, schema);
  return struct;
}

/** True when an object field may be left out: optional(), or defaulted() (fills it in). */
export function acceptsMissing(struct: Struct<any, any>): boolean {
  const [error] = validate(undefined, struct, { coerce: true });
  return error === undefined;
}

export class UnsupportedStructError extends Error {
  override name = "UnsupportedStructError";
}

export function toJsonSchema(struct: Struct<any, any>, path = "params"): JsonSchema {
  const annotated = annotations.get(struct.entries);
  if (annotated) return structuredClone(annotated);
  const schema = struct.schema as unknown;
  switch (struct.type) {
    case "object":
    case "type": {
      const fields = (schema ?? {}) as Record<string, Struct<any, any>>;
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const [key, field] of Object.entries(fields)) {
        properties[key] = toJsonSchema(field, `${path}.${key}`);
        if (!acceptsMissing(field)) required.push(key);
      }
      return {
        type: "object",
        properties,
        ...(required.length ? { required } : {}),
        // object() rejects unknown keys; type() lets them through.
        ...(struct.type === "object" ? { additionalProperties: false } : {}),
      };
    }
    case "number":
      return { type: "number" };
    case "integer":
      return { type: "integer" };
    case "string":
      return { type: "string" };
    case "boolean":
      return { type: "boolean" };
    case "date":
      // Over JSON a date travels as an ISO 8601 string.
      return { type: "string", format: "date-time" };
    case "enums":
      return { enum: Object.values(schema as Record<string, unknown>) };
    case "literal":
      return { const: schema };
    case "array":
      return schema ? { type: "array", items: toJsonSchema(schema as Struct<any, any>, `${path}[]`) } : { type: "array" };
    case "union":
      // superstruct keeps no list of a union's members (its schema is null), only a validator.
      if (!Array.isArray(schema)) throw new UnsupportedStructError(`${path}: a union() cannot be described; wrap it with withJsonSchema`);
      return { anyOf: (schema as Struct<any, any>[]).map((s, i) => toJsonSchema(s, `${path}|${i}`)) };
    case "record":
      return { type: "object" };
    case "any":
    case "unknown":
      return {};
    default:
      // Failing loudly beats publishing a schema that says less than the validator checks.
      throw new UnsupportedStructError(
        `${path}: cannot describe a superstruct "${struct.type}" as JSON Schema; wrap it with withJsonSchema`,
      );
  }
}
