/**
 * The parameter schema of a data-defined report: a small JSON Schema subset, compiled into the
 * same kind of superstruct struct code reports use (so validation, normalisation, discovery and
 * OpenAPI work identically). Per property:
 *   { "type": "string",  "enum"?, "minLength"?, "maxLength"? }
 *   { "type": "number" | "integer", "minimum"?, "maximum"?, "enum"? }
 *   { "type": "boolean" }
 *   { "type": "date" }                        a year or ISO date, stored as a Date
 *   { "type": "array", "items": <one of the above>, "minItems"?, "maxItems"? }
 *   { "type": "range", "of": "number" | "date" }   {"$gt","$gte","$lt","$lte"}
 *   { "type": "list" }                        {"include": [...], "exclude": [...]} of strings
 * plus "description" and "default" on any of them; "required": [...] beside "properties".
 */
import {
  array,
  boolean,
  defaulted,
  enums,
  integer,
  max,
  min,
  number,
  object,
  optional,
  refine,
  size,
  string,
  validate,
  type Struct,
} from "superstruct";
import { dateRange, dateValue, nameList, numberRange } from "../filters.ts";
import { toJsonSchema, withJsonSchema, type JsonSchema } from "../json-schema.ts";

/** How a placeholder turns the validated value into pipeline syntax. */
export type ParamKind = "value" | "range" | "list";

export interface CompiledParameter {
  name: string;
  kind: ParamKind;
  /** Absent values are possible: the placeholder then disappears from the pipeline. */
  optional: boolean;
}

export interface CompiledParameters {
  struct: Struct<Record<string, unknown>, any>;
  parameters: Map<string, CompiledParameter>;
  errors: string[];
}

const PARAM_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const SCALARS = ["string", "number", "integer", "boolean", "date"] as const;
const KNOWN_KEYS: Record<string, string[]> = {
  string: ["enum", "minLength", "maxLength"],
  number: ["enum", "minimum", "maximum"],
  integer: ["enum", "minimum", "maximum"],
  boolean: [],
  date: [],
  array: ["items", "minItems", "maxItems"],
  range: ["of"],
  list: [],
};

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function scalar(
  spec: Record<string, unknown>,
  where: string,
  errors: string[],
): { struct: Struct<any, any>; schema: JsonSchema } | undefined {
  const kind = spec.type as string;
  const schema: JsonSchema = {};
  let struct: Struct<any, any>;
  if (Array.isArray(spec.enum)) {
    const ok =
      spec.enum.length > 0 &&
      spec.enum.every((v) => (kind === "string" ? typeof v === "string" : kind === "integer" ? isInt(v) : isNum(v)));
    if (!ok) {
      errors.push(`${where}.enum: must be a non-empty list of ${kind} values`);
      return undefined;
    }
    return { struct: enums(spec.enum), schema: { type: kind, enum: spec.enum } };
  }
  if (spec.enum !== undefined) errors.push(`${where}.enum: must be a list`);
  switch (kind) {
    case "string": {
      const lo = spec.minLength ?? 0;
      const hi = spec.maxLength ?? 1000;
      if (!isInt(lo) || !isInt(hi) || lo < 0 || hi < lo || hi > 10_000) {
        errors.push(`${where}: minLength/maxLength must be integers with 0 ≤ minLength ≤ maxLength ≤ 10000`);
        return undefined;
      }
      struct = size(string(), lo, hi);
      Object.assign(schema, { type: "string", minLength: lo, maxLength: hi });
      break;
    }
    case "number":
    case "integer": {
      const base = kind === "integer" ? integer() : refine(number(), "finite", (n) => Number.isFinite(n) || "must be a finite number");
      struct = base;
      Object.assign(schema, { type: kind });
      for (const bound of ["minimum", "maximum"] as const) {
        const value = spec[bound];
        if (value === undefined) continue;
        if (!isNum(value)) {
          errors.push(`${where}.${bound}: must be a number`);
          return undefined;
        }
        struct = bound === "minimum" ? min(struct, value) : max(struct, value);
        schema[bound] = value;
      }
      break;
    }
    case "boolean":
      struct = boolean();
      schema.type = "boolean";
      break;
    case "date": {
      // dateValue carries its own JSON Schema (string: a year or an ISO date).
      const struct = dateValue();
      return { struct, schema: toJsonSchema(struct) };
    }
    default:
      errors.push(`${where}.type: ${JSON.stringify(kind)} is not one of ${SCALARS.join(", ")}`);
      return undefined;
  }
  return { struct, schema };
}

function property(
  name: string,
  spec: unknown,
  errors: string[],
): { struct: Struct<any, any>; schema: JsonSchema; kind: ParamKind } | undefined {
  const where = `parameters.properties.${name}`;
  if (!PARAM_NAME.test(name)) {
    errors.push(`${where}: parameter names are snake_case (a-z, 0-9, _) and start with a letter`);
    return undefined;
  }
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    errors.push(`${where}: must be an object such as {"type": "integer"}`);
    return undefined;
  }
  const s = spec as Record<string, unknown>;
  const type = s.type;
  if (typeof type !== "string" || !(type in KNOWN_KEYS)) {
    errors.push(`${where}.type: must be one of ${Object.keys(KNOWN_KEYS).join(", ")}`);
    return undefined;
  }
  const allowed = new Set(["type", "description", "default", ...KNOWN_KEYS[type]]);
  const unknownKeys = Object.keys(s).filter((k) => !allowed.has(k));
  if (unknownKeys.length > 0) {
    errors.push(`${where}: unsupported keyword${unknownKeys.length > 1 ? "s" : ""} ${unknownKeys.join(", ")} for type ${type}`);
    return undefined;
  }
  if (s.description !== undefined && typeof s.description !== "string") errors.push(`${where}.description: must be a string`);
  const description = typeof s.description === "string" ? { description: s.description } : {};
  if (type === "range") {
    if (s.of !== "number" && s.of !== "date") {
      errors.push(`${where}.of: must be "number" or "date"`);
      return undefined;
    }
    // The filters.ts structs carry their JSON Schema; ranges and lists are the design document's shapes.
    const struct = s.of === "number" ? numberRange() : dateRange();
    return { struct, schema: { ...toJsonSchema(struct), ...description }, kind: "range" };
  }
  if (type === "list") {
    const struct = nameList();
    return { struct, schema: { ...toJsonSchema(struct), ...description }, kind: "list" };
  }
  if (type === "array") {
    const items = s.items as Record<string, unknown> | undefined;
    if (!items || typeof items !== "object" || !SCALARS.includes(items.type as (typeof SCALARS)[number])) {
      errors.push(`${where}.items: must be {"type": ${SCALARS.map((t) => `"${t}"`).join(" | ")}, ...}`);
      return undefined;
    }
    const item = scalar(items, `${where}.items`, errors);
    if (!item) return undefined;
    const lo = s.minItems ?? 1;
    const hi = s.maxItems ?? 500;
    if (!isInt(lo) || !isInt(hi) || lo < 0 || hi < lo || hi > 10_000) {
      errors.push(`${where}: minItems/maxItems must be integers with 0 ≤ minItems ≤ maxItems ≤ 10000`);
      return undefined;
    }
    return {
      struct: size(array(item.struct), lo, hi),
      schema: { type: "array", items: item.schema, minItems: lo, maxItems: hi, ...description },
      kind: "value",
    };
  }
  const one = scalar(s, where, errors);
  return one && { ...one, schema: { ...one.schema, ...description }, kind: "value" };
}

export function compileParameters(spec: { properties: Record<string, unknown>; required?: string[] }): CompiledParameters {
  const errors: string[] = [];
  const fields: Record<string, Struct<any, any>> = {};
  const parameters = new Map<string, CompiledParameter>();
  const required = new Set(spec.required ?? []);
  for (const name of required) {
    if (!(name in spec.properties)) errors.push(`parameters.required: ${JSON.stringify(name)} is not a declared property`);
  }
  for (const [name, raw] of Object.entries(spec.properties)) {
    const compiled = property(name, raw, errors);
    if (!compiled) continue;
    let struct = compiled.struct;
    let schema = compiled.schema;
    const fallback = (raw as Record<string, unknown>).default;
    if (fallback !== undefined) {
      const [error, value] = validate(fallback, struct, { coerce: true });
      if (error) {
        errors.push(`parameters.properties.${name}.default: ${error.message}`);
        continue;
      }
      struct = defaulted(struct, value);
      schema = { ...schema, default: fallback };
    } else if (!required.has(name)) {
      struct = optional(struct);
    }
    struct = withJsonSchema(struct, schema);
    fields[name] = struct;
    parameters.set(name, { name, kind: compiled.kind, optional: fallback === undefined && !required.has(name) });
  }
  return { struct: object(fields) as Struct<Record<string, unknown>, any>, parameters, errors };
}
