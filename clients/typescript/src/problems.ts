/**
 * Errors the client throws. The service answers every error as RFC 9457 problem+json from one
 * table; each problem type is a schema in the OpenAPI document (`Problem.<slug>`), so the slugs
 * and their extension members are typed here from the generated types, not retyped by hand.
 */
import type { components } from "./openapi.ts";

type Schemas = components["schemas"];

/** Every problem slug the service can answer with (`https://…/problems/<slug>`). */
export type ProblemSlug = { [K in keyof Schemas]: K extends `Problem.${infer Slug}` ? Slug : never }[keyof Schemas];

/** The body of a problem of one type (its extension members included). */
export type ProblemOf<S extends ProblemSlug> = Schemas[`Problem.${S}`];

/** Any problem body: the common members, plus whatever its type adds. */
export type Problem = Partial<Schemas["Problem"]> & { type: string; [extension: string]: unknown };

/** The service answered with an error status: `problem` is its body, `slug` the last part of its type. */
export class ApiError extends Error {
  readonly slug: ProblemSlug | undefined;

  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.title ?? "error"}${problem.detail ? `: ${problem.detail}` : ""}`);
    this.name = "ApiError";
    this.slug = /\/problems\/([a-z0-9-]+)$/.exec(problem.type ?? "")?.[1] as ProblemSlug | undefined;
  }

  /** Narrows to one problem type: `if (error.is("invalid-parameters")) error.problem.errors…`. */
  is<S extends ProblemSlug>(slug: S): this is ApiError & { problem: ProblemOf<S> } {
    return this.slug === slug;
  }
}

/** A request ended `error` or `cancelled` where rows or a file were asked for. */
export class ReportFailedError extends Error {
  constructor(readonly request: Schemas["ReportRequestStatus"]) {
    super(
      `report ${request.report_name} (${request.id}) ended ${request.status}` +
        (request.error ? `: ${request.error.code}: ${request.error.message}` : ""),
    );
    this.name = "ReportFailedError";
  }
}

/** `wait({ timeoutMs })` ran out before the request reached a final status. */
export class WaitTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly timeoutMs: number,
  ) {
    super(`report request ${id} did not finish within ${timeoutMs} ms`);
    this.name = "WaitTimeoutError";
  }
}

/** Turns a non-2xx response into an ApiError (a body that is not a problem becomes one). */
export async function problemFrom(response: Response): Promise<ApiError> {
  let problem: Problem;
  try {
    problem = (await response.json()) as Problem;
  } catch {
    problem = { type: "about:blank", title: response.statusText || "Error", status: response.status };
  }
  return new ApiError(response.status, problem);
}

/** The fetch client's answer: its data, or an ApiError carrying the service's problem. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, (error ?? { type: "about:blank", status: response.status }) as Problem);
  return data as T;
}
