/**
 * Query-string parameters `page`, `page_size` and `wait`: strict whole numbers within bounds, a
 * 400 problem otherwise, never a silent clamp a client would not notice. The same bounds make
 * their OpenAPI declarations, so the document states exactly what is accepted.
 */
import { PROBLEMS, ProblemError } from "./problems.ts";
import type { ParameterDeclaration } from "./route.ts";

export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface PageLimits {
  pageSizeDefault: number;
  pageSizeMax: number;
}

/** The highest page number accepted (nine digits). */
export const PAGE_MAX = 100_000_000;

function integerParam(query: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = query[name];
  if (raw === undefined) return fallback;
  const text = Array.isArray(raw) ? undefined : String(raw);
  if (text === undefined || !/^\d{1,9}$/.test(text)) {
    throw new ProblemError(PROBLEMS.invalidQuery, `${name} must be a whole number from ${min} to ${max}`, {
      extensions: { errors: [{ field: name, message: `must be a whole number from ${min} to ${max}` }] },
    });
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new ProblemError(PROBLEMS.invalidQuery, `${name} must be from ${min} to ${max}, got ${value}`, {
      extensions: { errors: [{ field: name, message: `must be from ${min} to ${max}` }] },
    });
  }
  return value;
}

export function parsePage(query: Record<string, unknown>, limits: PageLimits): PageRequest {
  return {
    page: integerParam(query, "page", 0, 0, PAGE_MAX),
    pageSize: integerParam(query, "page_size", limits.pageSizeDefault, 1, limits.pageSizeMax),
  };
}

/** `?wait=N` or `Prefer: wait=N` (RFC 7240); the query parameter wins and is checked, the preference is capped. */
export function parseWait(query: Record<string, unknown>, prefer: string | undefined, maxSeconds: number): number {
  if (query.wait !== undefined) return integerParam(query, "wait", 0, 0, maxSeconds);
  const match = prefer ? /(?:^|[,;\s])wait=(\d+)/i.exec(prefer) : null;
  return match ? Math.min(Number(match[1]), maxSeconds) : 0;
}

export function pageParameters(limits: PageLimits, purpose = "the page of rows"): ParameterDeclaration[] {
  return [
    {
      name: "page",
      in: "query",
      description: `${purpose}: page number, from 0`,
      schema: { type: "integer", minimum: 0, maximum: PAGE_MAX, default: 0 },
    },
    {
      name: "page_size",
      in: "query",
      description: "rows per page",
      schema: { type: "integer", minimum: 1, maximum: limits.pageSizeMax, default: limits.pageSizeDefault },
    },
  ];
}

export function waitParameters(maxSeconds: number): ParameterDeclaration[] {
  return [
    {
      name: "wait",
      in: "query",
      description:
        "hold the response up to this many seconds until the status is final; a key already holding MAX_LONG_POLLS_PER_KEY " +
        "waiting reads is answered at once (no `Preference-Applied`: honour `Retry-After` before asking again)",
      schema: { type: "integer", minimum: 0, maximum: maxSeconds, default: 0 },
    },
    {
      name: "Prefer",
      in: "header",
      description: `RFC 7240 \`wait=N\`, capped at ${maxSeconds}; the wait query parameter wins`,
      schema: { type: "string" },
    },
  ];
}
