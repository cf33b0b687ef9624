/**
 * One report request: wait for it (the event stream, or `wait=` long polls where the stream is
 * not available), page through its rows, download its file, cancel or remove it.
 */
import type { MongoReportsClient, ReportStatus } from "./client.ts";
import { ApiError, problemFrom, ReportFailedError, unwrap, WaitTimeoutError } from "./problems.ts";
import { pauseFor, retryAfterMs } from "./pacing.ts";
import { readEvents } from "./sse.ts";

type UntypedGet = (path: string, init: { params: object; parseAs: "stream" }) => Promise<{ response: Response }>;

const FINAL = new Set(["completed", "error", "cancelled"]);
/**
 * Longest single long poll asked for; `Prefer: wait=` is capped by the service, never refused (past
 * its long polls per key it answers at once, without `Preference-Applied`).
 */
const LONG_POLL_SECONDS = 20;

export function isFinal(status: ReportStatus): boolean {
  return FINAL.has(status.status);
}

/** What a running job is doing (the `progress` event's data). */
export type Progress = NonNullable<ReportStatus["progress"]>;

/** Whether the request keeps rows to page through (output json or both, or a list with json). */
export function hasRows(status: ReportStatus): boolean {
  const kinds = ([] as unknown[]).concat(status.output ?? "json");
  return kinds.includes("json") || kinds.includes("both");
}

export interface WaitOptions {
  /** Give up (WaitTimeoutError) after this long; no limit by default. */
  timeoutMs?: number;
  /** Called on each status transition and each progress event. */
  onEvent?: (event: { kind: "status"; status: ReportStatus } | { kind: "progress"; progress: Progress }) => void;
  signal?: AbortSignal;
}

export class ReportRequest {
  readonly id: string;
  /** The last status read (undefined for a handle made from an id until it is read). */
  last: ReportStatus | undefined;

  constructor(
    private readonly client: MongoReportsClient,
    from: ReportStatus | string,
  ) {
    this.id = typeof from === "string" ? from : from.id;
    this.last = typeof from === "string" ? undefined : from;
  }

  /** Reads the status now (one page of rows with it when completed with rows). */
  async status(): Promise<ReportStatus> {
    return (this.last = await this.client.status(this.id));
  }

  /**
   * Resolves with the final status (completed, error or cancelled: check `.status`). Follows
   * GET /v1/reports/:id/events; when the stream cannot be opened or ends early, long-polls
   * GET /v1/reports/:id with `Prefer: wait=N` instead.
   */
  async wait(options: WaitOptions = {}): Promise<ReportStatus> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    options.signal?.addEventListener("abort", stop, { once: true });
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, options.timeoutMs);
    try {
      if (this.last && isFinal(this.last)) return this.last;
      const streamed = await this.followStream(controller.signal, options).catch((error: unknown) => {
        if (controller.signal.aborted) throw error;
        if (error instanceof ApiError && error.status !== 406 && error.status < 500) throw error; // 404, 401…: polling would fail too
        return undefined; // no stream through this proxy: poll
      });
      if (streamed) return streamed;
      return await this.longPoll(controller.signal, options);
    } catch (error) {
      if (timedOut) throw new WaitTimeoutError(this.id, options.timeoutMs!);
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", stop);
    }
  }

  /** The final status from the event stream, or undefined when the stream ended without one. */
  private async followStream(signal: AbortSignal, options: WaitOptions): Promise<ReportStatus | undefined> {
    const { response } = await this.client.api.GET("/v1/reports/{id}/events", {
      params: { path: { id: this.id } },
      parseAs: "stream",
      signal,
      headers: { Accept: "text/event-stream" },
    });
    if (response.status === 204) return await this.status(); // finished, and the stream says so
    if (!response.ok) throw await problemFrom(response);
    if (!response.body || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) return undefined;
    for await (const event of readEvents(response.body)) {
      if (event.event === "status") {
        const status = JSON.parse(event.data) as ReportStatus;
        this.last = status;
        options.onEvent?.({ kind: "status", status });
        if (isFinal(status)) return status;
      } else if (event.event === "progress") {
        options.onEvent?.({ kind: "progress", progress: JSON.parse(event.data) as Progress });
      }
    }
    return undefined;
  }

  private async longPoll(signal: AbortSignal, options: WaitOptions): Promise<ReportStatus> {
    for (;;) {
      signal.throwIfAborted();
      const before = this.last?.status;
      const answer = await this.client.api.GET("/v1/reports/{id}", {
        params: { path: { id: this.id }, header: { Prefer: `wait=${LONG_POLL_SECONDS}` } },
        signal,
      });
      const status = await unwrap(Promise.resolve(answer));
      this.last = status;
      if (status.status !== before) options.onEvent?.({ kind: "status", status });
      if (isFinal(status)) return status;
      // Answered without waiting (the key holds as many long polls as the service allows): pause as
      // Retry-After says instead of asking again at once.
      if (!answer.response.headers.has("Preference-Applied")) await pauseFor(retryAfterMs(answer.response) ?? 1000, signal);
    }
  }

  /**
   * Every row, page after page (GET /v1/reports/:id?page=N). Waits first when the request is
   * not final; throws ReportFailedError when it ended in error or was cancelled.
   */
  async *rows(options: { pageSize?: number } = {}): AsyncGenerator<Record<string, unknown>> {
    const final = this.last && isFinal(this.last) ? this.last : await this.wait();
    if (final.status !== "completed") throw new ReportFailedError(final);
    if (!hasRows(final)) throw new Error(`request ${this.id} wrote files only (output ${JSON.stringify(final.output)}): download() them`);
    const pageSize = options.pageSize ?? 1000;
    for (let page = 0; ; page++) {
      const view = await this.client.status(this.id, { page, page_size: pageSize });
      for (const row of view.rows ?? []) yield row;
      if (view.total_pages === undefined || page + 1 >= view.total_pages) return;
    }
  }

  /**
   * Writes a stored file of the request to `path`: its CSV by default (output csv or both; a GCS
   * file is fetched through the signed URL the service redirects to), or the file of `format`
   * (GET /v1/reports/:id/download?format=, where the service offers more formats). Resolves with
   * the bytes written.
   */
  async download(path: string, options: { format?: string } = {}): Promise<number> {
    const final = this.last && isFinal(this.last) ? this.last : await this.wait();
    if (final.status !== "completed") throw new ReportFailedError(final);
    const { response } =
      options.format === undefined || options.format === "csv"
        ? await this.client.api.GET("/v1/reports/{id}/csv", { params: { path: { id: this.id } }, parseAs: "stream" })
        : // Not every service version declares the route: called untyped.
          await (this.client.api.GET as unknown as UntypedGet)("/v1/reports/{id}/download", {
            params: { path: { id: this.id }, query: { format: options.format } },
            parseAs: "stream",
          });
    if (!response.ok) throw await problemFrom(response);
    if (!response.body) throw new Error(`the download of ${this.id} answered ${response.status} without a body`);
    // Imported here so that the rest of the client runs where there is no file system.
    const [{ createWriteStream }, { Readable }, { pipeline }] = await Promise.all([
      import("node:fs"),
      import("node:stream"),
      import("node:stream/promises"),
    ]);
    const file = createWriteStream(path);
    await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream), file);
    return file.bytesWritten;
  }

  /** Cancels a pending or running request; resolves with its status. */
  async cancel(): Promise<ReportStatus> {
    return (this.last = await unwrap(this.client.api.POST("/v1/reports/{id}/cancel", { params: { path: { id: this.id } } })));
  }

  /** Deletes the request, its rows and its file. */
  async remove(): Promise<void> {
    await unwrap(this.client.api.DELETE("/v1/reports/{id}", { params: { path: { id: this.id } } }));
  }
}
