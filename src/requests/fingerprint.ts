/**
 * A request's identity for idempotency and result reuse: a hash of what was asked (report,
 * output, normalised params), independent of key order and of how dates were written.
 */
import { createHash } from "node:crypto";

function canonical(value: unknown): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function fingerprint(request: { report_name: string; output: string | readonly string[]; params: Record<string, unknown> }): string {
  const text = JSON.stringify(canonical({ report_name: request.report_name, output: request.output, params: request.params }));
  return createHash("sha256").update(text).digest("hex");
}
