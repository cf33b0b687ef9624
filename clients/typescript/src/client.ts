/**
 * The client: one method per operation of the service's OpenAPI document (operations.ts lists
 * which), over openapi-fetch typed by the generated `paths`. Report requests are handles
 * (request.ts) that wait, page through rows and download files.
 */
import createFetchClient, { type Client as FetchClient } from "openapi-fetch";
import type { components, operations, paths } from "./openapi.ts";
import { ApiError, unwrap } from "./problems.ts";
import { pauseFor, retryAfterMs } from "./pacing.ts";
import { ReportRequest } from "./request.ts";

type Schemas = components["schemas"];
type JsonBody<Op extends keyof operations> =
  NonNullable<operations[Op]["requestBody"]> extends { content: { "application/json": infer B } } ? B : never;
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;

export type ReportStatus = Schemas["ReportRequestStatus"];
export type ReportDescription = Schemas["ReportDescription"];
export type Schedule = Schemas["Schedule"];
export type ScheduleInput = Schemas["ScheduleInput"];
export type HistoryFilter = Query<"listReports">;
export type HistoryPage = Schemas["ReportRequestList"];
export type Output = NonNullable<ReportStatus["output"]>;

/** The reports the document describes (code-defined ones); data-defined reports are plain strings. */
export type KnownReport = { [K in keyof Schemas]: K extends `ReportParameters.${infer Name}` ? Name : never }[keyof Schemas];
/** A report's parameters as its body schema gives them (without report_name and output). */
export type ParamsOf<N extends string> = N extends KnownReport
  ? Omit<Schemas[`ReportParameters.${N}`], "report_name" | "output" | "callback_url">
  : Record<string, unknown>;

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when the deployment sets API_KEYS. */
  apiKey?: string;
  /** A fetch of your own (proxies, tests); the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface SubmitOptions {
  output?: Output;
  callbackUrl?: string;
  /** Replays the request this key made; a fresh key per submit() call by default, kept across its retries. */
  idempotencyKey?: string;
  /** Attempts after the first on a network error, 429, 502, 503 or 504 (default 2). */
  retries?: number;
  /** `Cache-Control: no-cache`: never reuse a recent identical result. */
  fresh?: boolean;
  /**
   * Seconds the service may hold the submission until the request is final (`Prefer: wait=N`, capped
   * at the service's WAIT_MAX_S): a small report comes back finished in one round trip; otherwise the request
   * comes back pending once the wait is up. 0 (default): answered at once.
   */
  wait?: number;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

export class MongoReportsClient {
  /** The typed openapi-fetch client, for anything this surface does not cover. */
  readonly api: FetchClient<paths>;

  constructor(readonly options: ClientOptions) {
    this.api = createFetchClient<paths>({
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      headers: options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {},
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  // ---- report requests ----

  /** Requests a report; `Idempotency-Key` makes the retries (and yours) safe. */
  async submit<N extends KnownReport | (string & {})>(
    name: N,
    params: ParamsOf<N> = {} as ParamsOf<N>,
    options: SubmitOptions = {},
  ): Promise<ReportRequest> {
    const key = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    const body = {
      ...(params as Record<string, unknown>),
      report_name: name,
      ...(options.output ? { output: options.output } : {}),
      ...(options.callbackUrl ? { callback_url: options.callbackUrl } : {}),
    } as JsonBody<"submitReport">;
    const retries = options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      let result;
      try {
        result = await this.api.POST("/v1/reports", {
          params: {
            header: {
              "Idempotency-Key": key,
              ...(options.fresh ? { "Cache-Control": "no-cache" } : {}),
              // The header, not ?wait=: a preference the service caps at its WAIT_MAX_S, never refuses.
              ...(options.wait ? { Prefer: `wait=${options.wait}` } : {}),
            },
          },
          body,
        });
      } catch (error) {
        if (attempt >= retries) throw error;
        await pauseFor(backoffMs(attempt));
        continue;
      }
      if (RETRYABLE.has(result.response.status) && attempt < retries) {
        await pauseFor(retryAfterMs(result.response) ?? backoffMs(attempt));
        continue;
      }
      return new ReportRequest(this, await unwrap(Promise.resolve(result)));
    }
  }

  /** A handle on a request made elsewhere (its status is read on first use). */
  request(id: string): ReportRequest {
    return new ReportRequest(this, id);
  }

  /** One read of a request's status (and, when completed with rows, one page of them). */
  status(id: string, query: Query<"getReport"> = {}): Promise<ReportStatus> {
    return unwrap(this.api.GET("/v1/reports/{id}", { params: { path: { id }, query } }));
  }

  /** Past requests, newest first, one page (`next_after` for the next). */
  history(filter: HistoryFilter = {}): Promise<HistoryPage> {
    return unwrap(this.api.GET("/v1/reports", { params: { query: filter } }));
  }

  // ---- the catalogue ----

  /** The reports that can be run, with their parameter schemas. */
  async reports(): Promise<ReportDescription[]> {
    return (await unwrap(this.api.GET("/v1/report-definitions"))).reports;
  }

  report(name: string) {
    return unwrap(this.api.GET("/v1/report-definitions/{name}", { params: { path: { name } } }));
  }

  /** Defines (or changes) a data-defined report; needs the admin scope. */
  defineReport(name: string, definition: JsonBody<"putReportDefinition">) {
    return unwrap(this.api.PUT("/v1/report-definitions/{name}", { params: { path: { name } }, body: definition }));
  }

  async retireReport(name: string): Promise<void> {
    await unwrap(this.api.DELETE("/v1/report-definitions/{name}", { params: { path: { name } } }));
  }

  /** Validates a definition without saving it. */
  checkDefinition(definition: JsonBody<"checkReportDefinition">) {
    return unwrap(this.api.POST("/v1/report-definition-checks", { body: definition }));
  }

  reportVersions(name: string) {
    return unwrap(this.api.GET("/v1/report-definitions/{name}/versions", { params: { path: { name } } }));
  }

  reportVersion(name: string, version: number) {
    return unwrap(
      this.api.GET("/v1/report-definitions/{name}/versions/{version}", { params: { path: { name, version: String(version) } } }),
    );
  }

  restoreReportVersion(name: string, version: number) {
    return unwrap(
      this.api.POST("/v1/report-definitions/{name}/versions/{version}/restore", { params: { path: { name, version: String(version) } } }),
    );
  }

  // ---- schedules ----

  createSchedule(schedule: JsonBody<"createSchedule">): Promise<Schedule> {
    return unwrap(this.api.POST("/v1/schedules", { body: schedule }));
  }

  schedules(query: Query<"listSchedules"> = {}) {
    return unwrap(this.api.GET("/v1/schedules", { params: { query } }));
  }

  schedule(id: string): Promise<Schedule> {
    return unwrap(this.api.GET("/v1/schedules/{id}", { params: { path: { id } } }));
  }

  updateSchedule(id: string, changes: JsonBody<"updateSchedule">): Promise<Schedule> {
    return unwrap(this.api.PATCH("/v1/schedules/{id}", { params: { path: { id } }, body: changes }));
  }

  async deleteSchedule(id: string): Promise<void> {
    await unwrap(this.api.DELETE("/v1/schedules/{id}", { params: { path: { id } } }));
  }

  pauseSchedule(id: string): Promise<Schedule> {
    return unwrap(this.api.POST("/v1/schedules/{id}/pause", { params: { path: { id } } }));
  }

  resumeSchedule(id: string): Promise<Schedule> {
    return unwrap(this.api.POST("/v1/schedules/{id}/resume", { params: { path: { id } } }));
  }

  // ---- the service ----

  health() {
    return unwrap(this.api.GET("/healthz"));
  }

  ready() {
    return unwrap(this.api.GET("/readyz"));
  }

  /** The OpenAPI document the service serves now. */
  openapi() {
    return unwrap(this.api.GET("/openapi.json"));
  }

  /** The Prometheus exposition text. */
  async metrics(): Promise<string> {
    const { data, error, response } = await this.api.GET("/metrics", { parseAs: "text" });
    if (!response.ok) throw new ApiError(response.status, { type: "about:blank", status: response.status, detail: String(error) });
    return data as unknown as string;
  }
}

export function createClient(options: ClientOptions): MongoReportsClient {
  return new MongoReportsClient(options);
}

function backoffMs(attempt: number): number {
  return Math.min(250 * 2 ** attempt, 5000);
}
