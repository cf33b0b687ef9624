/**
 * Rows never carry a hidden field (HIDDEN_FIELDS, default `password`): every report's rows, code-
 * or data-defined, lose such fields at any depth before they are written to chunks or files. A
 * definition may not name one (reports/data-defined/hidden-fields.ts), but a whole document can
 * still pass through a pipeline (`$$ROOT`, a `$lookup` into users), and a code report is code.
 */

/** A BSON value, a date or a buffer: a leaf, never walked into. */
function isLeaf(value: object): boolean {
  return value instanceof Date || "_bsontype" in value || ArrayBuffer.isView(value);
}

/**
 * `value` without the fields named in `hidden`, at any depth. Returns `value` itself when it holds
 * none (no copy per row in the usual case); copies only the objects on the way to a removed field.
 */
export function withoutHiddenFields<T>(value: T, hidden: ReadonlySet<string>): T {
  if (hidden.size === 0 || value === null || typeof value !== "object" || isLeaf(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const inner = withoutHiddenFields(value[i], hidden);
      if (inner !== value[i]) (copy ??= value.slice())[i] = inner;
    }
    return (copy ?? value) as T;
  }
  const fields = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (hidden.has(key)) {
      copy ??= { ...fields };
      delete copy[key];
      continue;
    }
    const cleaned = withoutHiddenFields(fields[key], hidden);
    if (cleaned !== fields[key]) (copy ??= { ...fields })[key] = cleaned;
  }
  return (copy ?? value) as T;
}
