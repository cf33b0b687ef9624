/**
 * The run form, derived from a report's parameter JSON Schema (GET /v1/report-definitions): which
 * input each parameter gets, the form state an example body fills in, the body a form state
 * submits, and the client-side check of that body against the same schema. Pure: no DOM, so it
 * is unit-tested without a browser.
 */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  minProperties?: number;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
  description?: string;
};

const LOWER = ["$gt", "$gte"] as const;
const UPPER = ["$lt", "$lte"] as const;
export type LowerOp = (typeof LOWER)[number];
export type UpperOp = (typeof UPPER)[number];

export type Field =
  | { kind: "range"; name: string; description?: string; dates: boolean; required: boolean }
  | { kind: "list"; name: string; description?: string; required: boolean }
  | { kind: "enum"; name: string; description?: string; options: string[]; default?: string; required: boolean }
  | { kind: "number"; name: string; description?: string; integer: boolean; minimum?: number; maximum?: number; required: boolean }
  | { kind: "boolean"; name: string; description?: string; required: boolean }
  | { kind: "text"; name: string; description?: string; required: boolean }
  | { kind: "json"; name: string; description?: string; required: boolean };

export type RangeValue = { lowOp: LowerOp; low: string; highOp: UpperOp; high: string };
export type ListValue = { include: string[]; exclude: string[] };
export type FieldValue = string | boolean | RangeValue | ListValue;
export type FormState = Record<string, FieldValue>;

function isRange(schema: JsonSchema): boolean {
  const keys = Object.keys(schema.properties ?? {});
  return (
    schema.type === "object" &&
    keys.length > 0 &&
    keys.every((k) => (LOWER as readonly string[]).includes(k) || (UPPER as readonly string[]).includes(k))
  );
}

function isList(schema: JsonSchema): boolean {
  const keys = Object.keys(schema.properties ?? {});
  return schema.type === "object" && keys.length > 0 && keys.every((k) => k === "include" || k === "exclude");
}

/** One field per parameter, in the schema's order. */
export function fieldsOf(schema: JsonSchema): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]): Field => {
    const common = { name, description: property.description, required: required.has(name) };
    if (isRange(property)) {
      // A date bound accepts a year or an ISO date string; a numeric bound is a plain number.
      const dates = Object.values(property.properties ?? {}).some((p) => (p.anyOf ?? []).some((a) => a.type === "string"));
      return { kind: "range", ...common, dates };
    }
    if (isList(property)) return { kind: "list", ...common };
    if (property.enum) {
      return {
        kind: "enum",
        ...common,
        options: property.enum.map(String),
        ...(property.default === undefined ? {} : { default: String(property.default) }),
      };
    }
    if (property.type === "integer" || property.type === "number") {
      return { kind: "number", ...common, integer: property.type === "integer", minimum: property.minimum, maximum: property.maximum };
    }
    if (property.type === "boolean") return { kind: "boolean", ...common };
    if (property.type === "string") return { kind: "text", ...common };
    return { kind: "json", ...common };
  });
}

export function emptyValue(field: Field): FieldValue {
  switch (field.kind) {
    case "range":
      return { lowOp: "$gte", low: "", highOp: "$lte", high: "" };
    case "list":
      return { include: [], exclude: [] };
    case "boolean":
      return false;
    case "enum":
      return field.default ?? "";
    default:
      return "";
  }
}

/** The form state showing `example` (an example body from the catalogue); unknown keys are ignored. */
export function stateFromBody(fields: Field[], example: Record<string, unknown>): FormState {
  const state: FormState = {};
  for (const field of fields) {
    const value = example[field.name];
    state[field.name] = value === undefined ? emptyValue(field) : toFieldValue(field, value);
  }
  return state;
}

function toFieldValue(field: Field, value: unknown): FieldValue {
  switch (field.kind) {
    case "range": {
      const bounds = (value ?? {}) as Record<string, unknown>;
      const lowOp = bounds.$gt !== undefined ? "$gt" : "$gte";
      const highOp = bounds.$lt !== undefined ? "$lt" : "$lte";
      const text = (v: unknown) => (v === undefined || v === null ? "" : String(v));
      return { lowOp, low: text(bounds[lowOp]), highOp, high: text(bounds[highOp]) };
    }
    case "list": {
      const list = (value ?? {}) as { include?: unknown[]; exclude?: unknown[] };
      return { include: (list.include ?? []).map(String), exclude: (list.exclude ?? []).map(String) };
    }
    case "boolean":
      return value === true;
    case "json":
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

/** A number when the text is one; otherwise the text itself, so validation names what is wrong. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function boundValue(text: string, dates: boolean): unknown {
  const trimmed = text.trim();
  // Dates stay strings ("1990", "1995-06-01"): the server reads a year string as the whole year.
  return dates ? trimmed : numberOrText(trimmed);
}

/** The request body for a form state: empty inputs are left out; report_name and output added. */
export function bodyFromState(reportName: string, output: string, fields: Field[], state: FormState): Record<string, unknown> {
  const body: Record<string, unknown> = { report_name: reportName };
  for (const field of fields) {
    const value = state[field.name];
    switch (field.kind) {
      case "range": {
        const range = value as RangeValue;
        const bounds: Record<string, unknown> = {};
        if (range.low.trim() !== "") bounds[range.lowOp] = boundValue(range.low, field.dates);
        if (range.high.trim() !== "") bounds[range.highOp] = boundValue(range.high, field.dates);
        if (Object.keys(bounds).length > 0) body[field.name] = bounds;
        break;
      }
      case "list": {
        const list = value as ListValue;
        const chosen: Record<string, string[]> = {};
        if (list.include.length) chosen.include = list.include;
        if (list.exclude.length) chosen.exclude = list.exclude;
        if (Object.keys(chosen).length > 0) body[field.name] = chosen;
        break;
      }
      case "boolean":
        if (value === true) body[field.name] = true;
        break;
      case "number":
        if ((value as string).trim() !== "") body[field.name] = numberOrText(value as string);
        break;
      case "json":
        if ((value as string).trim() !== "") {
          try {
            body[field.name] = JSON.parse(value as string);
          } catch {
            body[field.name] = value; // validation reports it against the schema
          }
        }
        break;
      default:
        if (value !== "") body[field.name] = value;
    }
  }
  if (output !== "json") body.output = output;
  return body;
}

export interface FieldError {
  /** Dotted path as the server writes it: "comments.$gt", "directors.include", "top". */
  field: string;
  message: string;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === "number" && actual === "integer");
}

/**
 * Checks `value` against the subset of JSON Schema (2020-12) the catalogue publishes: type,
 * properties/required/additionalProperties/minProperties, items/minItems/maxItems, enum, const,
 * minimum/maximum, minLength/maxLength, pattern, anyOf, allOf, not (with required). Returns every
 * problem with its dotted path; an empty list means valid.
 */
export function validate(schema: JsonSchema, value: unknown, path = ""): FieldError[] {
  const errors: FieldError[] = [];
  const at = (message: string) => errors.push({ field: path, message });
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length && !types.some((t) => matchesType(value, t))) {
    at(`must be ${types.map((t) => (t === "integer" ? "a whole number" : `a ${t}`)).join(" or ")}`);
    return errors;
  }
  if (schema.const !== undefined && value !== schema.const) at(`must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) at(`must be one of ${schema.enum.join(", ")}`);
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) at(`must be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) at(`must be at most ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && value.length < schema.minLength) at(`must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) at(`must have at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) at(`has the wrong form`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) at(`needs at least ${schema.minItems} value(s)`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) at(`takes at most ${schema.maxItems} values`);
    if (schema.items) value.forEach((item, i) => errors.push(...validate(schema.items!, item, `${path}[${i}]`)));
  }
  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const join = (key: string) => (path ? `${path}.${key}` : key);
    for (const key of schema.required ?? []) if (object[key] === undefined) errors.push({ field: join(key), message: "is required" });
    if (schema.minProperties !== undefined && Object.keys(object).length < schema.minProperties) at("needs a value");
    for (const [key, item] of Object.entries(object)) {
      const property = schema.properties?.[key];
      if (property) errors.push(...validate(property, item, join(key)));
      else if (schema.additionalProperties === false) errors.push({ field: join(key), message: "is not a parameter of this report" });
    }
  }
  if (schema.anyOf && !schema.anyOf.some((option) => validate(option, value, path).length === 0)) {
    // Each option's own message helps more than "matches none": show the closest (fewest errors).
    const closest = schema.anyOf.map((option) => validate(option, value, path)).sort((a, b) => a.length - b.length)[0];
    // The schema's own description says what the options together accept (a date bound: a year or an ISO date).
    const described = schema.description ? [schema.description] : schema.anyOf.map((o) => o.description).filter(Boolean);
    at(described.length ? `must be ${described.join(", or ")}` : (closest[0]?.message ?? "is not valid"));
  }
  for (const part of schema.allOf ?? []) {
    if (part.not?.required && typeOf(value) === "object") {
      const both = part.not.required;
      if (both.every((key) => (value as Record<string, unknown>)[key] !== undefined)) at(`give ${both.join(" or ")}, not both`);
    } else {
      errors.push(...validate(part, value, path));
    }
  }
  return errors;
}

/** The parameter an error belongs to: its first path segment ("comments.$gt" → "comments"). */
export function parameterOf(field: string): string {
  return field.split(/[.[]/)[0];
}
