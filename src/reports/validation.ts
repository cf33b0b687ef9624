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

/** Validates with coercion and defaults; throws ValidationError naming every bad field. */
export function validateParams<T>(value: unknown, struct: Struct<T, any>, prefix: string[] = []): T {
  const [error, result] = validate(value, struct, { coerce: true });
  if (error) throw new ValidationError(toFieldErrors(error, prefix));
  return result as T;
}
