/**
 * Turns superstruct failures into messages a client can act on: which field, and why, in words
 * rather than struct type names.
 */
import { StructError, validate, type Struct } from "superstruct";

export interface FieldError {
  field: string;
  message: string;
}

export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join("; "));
  }
}

function describe(failure: { type: string; message: string; key: unknown; value: unknown; refinement?: string }): string {
  // object() reports an unexpected key as a failure of type "never".
  if (failure.type === "never") return `unknown field ${JSON.stringify(String(failure.key))}`;
  return failure.message;
}

export function toFieldErrors(error: StructError, prefix: string[] = []): FieldError[] {
  const seen = new Set<string>();
  const errors: FieldError[] = [];
  for (const failure of error.failures()) {
    const field = [...prefix, ...failure.path.map(String)].join(".");
    const message = describe(failure);
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ field, message });
  }
  return errors;
}

/**
 * Keys that name Object.prototype members (`toString`, `constructor`, `__proto__`, …) are never
 * filter names, and a value carrying one can break code that formats it (superstruct prints a
 * rejected value with a template string, which throws on `{"toString": {}}`). Refuse them, and
 * absurd nesting, before any struct sees the value.
 */
const RESERVED_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));
const MAX_DEPTH = 32;

function findUnsafeShape(value: unknown, path: string[], depth = 0): FieldError | undefined {
  if (value === null || typeof value !== "object" || value instanceof Date) return undefined;
  if (depth > MAX_DEPTH) return { field: path.join("."), message: `nested more than ${MAX_DEPTH} levels deep` };
  for (const key of Object.keys(value)) {
    if (RESERVED_KEYS.has(key)) return { field: [...path, key].join("."), message: `unknown field ${JSON.stringify(key)} (reserved name)` };
    const found = findUnsafeShape((value as Record<string, unknown>)[key], [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Validates with coercion and defaults; throws ValidationError naming every bad field. */
export function validateParams<T>(value: unknown, struct: Struct<T, any>, prefix: string[] = []): T {
  const unsafe = findUnsafeShape(value, prefix);
  if (unsafe) throw new ValidationError([unsafe]);
  const [error, result] = validate(value, struct, { coerce: true });
  if (error) throw new ValidationError(toFieldErrors(error, prefix));
  return result;
}
