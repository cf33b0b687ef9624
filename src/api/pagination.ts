/**
 * Query-string parsing for `page`, `page_size` and `wait`: strict integers within documented
 * bounds, a 400 problem otherwise, never a silent clamp a client would not notice.
 */
import { ProblemError } from "./problem.ts";

export interface PageRequest {
  page: number;
  pageSize: number;
}

function integerParam(query: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const text = Array.isArray(raw) ? undefined : String(raw);
  if (text === undefined || !/^\d{1,9}$/.test(text)) {
    throw new ProblemError(400, "invalid-query", "Invalid query parameter", `${name} must be a whole number from ${min} to ${max}`, {
      errors: [{ field: name, message: `must be a whole number from ${min} to ${max}` }],
    });
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new ProblemError(400, "invalid-query", "Invalid query parameter", `${name} must be from ${min} to ${max}, got ${value}`, {
      errors: [{ field: name, message: `must be from ${min} to ${max}` }],
    });
  }
  return value;
}

export function parsePage(query: Record<string, unknown>, defaults: { pageSize: number; maxPageSize: number }): PageRequest {
  return {
    page: integerParam(query, "page", 0, 0, 100_000_000),
    pageSize: integerParam(query, "page_size", defaults.pageSize, 1, defaults.maxPageSize),
  };
}

/** `?wait=N` or `Prefer: wait=N` (RFC 7240); the query parameter wins. */
export function parseWait(query: Record<string, unknown>, prefer: string | undefined, maxSeconds: number): number {
  if (query.wait !== undefined) return integerParam(query, "wait", 0, 0, maxSeconds);
  const match = prefer ? /(?:^|[,;\s])wait=(\d+)/i.exec(prefer) : null;
  return match ? Math.min(Number(match[1]), maxSeconds) : 0;
}
