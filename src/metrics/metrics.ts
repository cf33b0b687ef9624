/**
 * The Prometheus series a process exposes on /metrics (the API on its own port, a worker on
 * METRICS_PORT). One registry per process (not prom-client's global one), so a test or `npm start`
 * running API and worker together exposes each series once.
 *
 * Label values are bounded: report names only when the catalogue knows them ("other" otherwise: a
 * Mongo-native request may name anything), error codes from the worker's own list, HTTP routes as
 * declared templates (never a path with an id in it).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Collection } from "mongodb";
import type { RequestDocument } from "../requests/document.ts";
import { BACKING_OFF, DUE_PENDING, RUNNING } from "../requests/queue-depth.ts";
import { RequestStatus, type RequestErrorCode } from "../requests/status.ts";

/** Seconds: pickup is milliseconds with a change stream, seconds with the sweep; runs up to REPORT_MAX_TIME_MS. */
const PICKUP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const RUN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** How a job attempt ended, as the worker decided it. */
export type JobOutcome = "completed" | "error" | "retry" | "released" | "cancelled" | "lease_lost";

export interface JobEnd {
  reportName: string;
  outcome: JobOutcome;
  /** The request's error code for error and retry. */
  errorCode?: RequestErrorCode;
  runMs: number;
  rows: number;
  csvBytes: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly knownReport: (name: string) => boolean;

  readonly submitted: Counter<"report">;
  readonly finished: Counter<"report" | "status">;
  readonly pickup: Histogram<string>;
  readonly runDuration: Histogram<"report" | "outcome">;
  readonly failures: Counter<"code">;
  readonly retries: Counter<"report">;
  readonly leaseLosses: Counter<string>;
  readonly streamReopens: Counter<string>;
  readonly rowsWritten: Counter<"report">;
  readonly csvBytes: Counter<"report">;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route">;
  readonly webhookDeliveries: Counter<"outcome">;

  constructor(options: { knownReport: (name: string) => boolean; defaultMetrics?: boolean }) {
    this.knownReport = options.knownReport;
    const registers = [this.registry];
    this.submitted = new Counter({
      name: "mongo_reports_requests_submitted_total",
      help: "Report requests accepted by the API (new ones, not reused results or replays)",
      labelNames: ["report"],
      registers,
    });
    this.finished = new Counter({
      name: "mongo_reports_requests_finished_total",
      help: "Report requests that reached a final status in this worker, by report and status",
      labelNames: ["report", "status"],
      registers,
    });
    this.pickup = new Histogram({
      name: "mongo_reports_pickup_seconds",
      help: "From the request being due (inserted, or its retry time) to a worker claiming it",
      buckets: PICKUP_BUCKETS,
      registers,
    });
    this.runDuration = new Histogram({
      name: "mongo_reports_run_seconds",
      help: "From claim to the end of the attempt, by report and how the attempt ended",
      labelNames: ["report", "outcome"],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.failures = new Counter({
      name: "mongo_reports_failures_total",
      help: "Failed attempts by error code (retried or final)",
      labelNames: ["code"],
      registers,
    });
    this.retries = new Counter({
      name: "mongo_reports_retries_total",
      help: "Failed attempts put back in the queue for another attempt",
      labelNames: ["report"],
      registers,
    });
    this.leaseLosses = new Counter({
      name: "mongo_reports_lease_losses_total",
      help: "Attempts that found their lease gone (expired and retaken, or cancelled meanwhile)",
      registers,
    });
    this.streamReopens = new Counter({
      name: "mongo_reports_change_stream_reopens_total",
      help: "Times the process's change stream was reopened after an error",
      registers,
    });
    this.rowsWritten = new Counter({
      name: "mongo_reports_rows_written_total",
      help: "Result rows written by finished attempts (chunks and/or CSV)",
      labelNames: ["report"],
      registers,
    });
    this.csvBytes = new Counter({
      name: "mongo_reports_csv_bytes_written_total",
      help: "CSV bytes handed to the sink by finished attempts",
      labelNames: ["report"],
      registers,
    });
    this.httpRequests = new Counter({
      name: "mongo_reports_http_requests_total",
      help: "HTTP requests answered by the API, by declared route and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "mongo_reports_http_request_duration_seconds",
      help: "Time to answer an HTTP request (an event stream: until its headers are sent)",
      labelNames: ["method", "route"],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: "mongo_reports_webhook_attempts_total",
      help: "Webhook delivery attempts by outcome (delivered, retry, failed; refused: a callback the API did not accept)",
      labelNames: ["outcome"],
      registers,
    });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "mongo_reports_process_" });
  }

  /** A report name as a label value: the catalogue's names only. */
  report(name: unknown): string {
    return typeof name === "string" && this.knownReport(name) ? name : "other";
  }

  jobClaimed(doc: RequestDocument, now = new Date()): void {
    const due = doc.not_before instanceof Date ? doc.not_before : doc.report_date;
    if (due instanceof Date) this.pickup.observe(Math.max(0, now.getTime() - due.getTime()) / 1000);
  }

  jobEnded(end: JobEnd): void {
    const report = this.report(end.reportName);
    this.runDuration.observe({ report, outcome: end.outcome }, end.runMs / 1000);
    if (end.rows > 0) this.rowsWritten.inc({ report }, end.rows);
    if (end.csvBytes > 0) this.csvBytes.inc({ report }, end.csvBytes);
    if (end.outcome === "error" || end.outcome === "retry") {
      this.failures.inc({ code: end.errorCode ?? "other" });
    }
    if (end.outcome === "retry") this.retries.inc({ report });
    if (end.outcome === "lease_lost") this.leaseLosses.inc();
    if (end.outcome === "completed" || end.outcome === "error" || end.outcome === "cancelled")
      this.finished.inc({ report, status: end.outcome });
  }

  /**
   * `mongo_reports_queue_depth{status}`: `pending` counts the requests a worker could claim now
   * (the claim's own definition of due: no `not_before` or one already past, src/requests/queue-depth.ts,
   * which KEDA's trigger in the Helm chart sends too: it counts pending + running); `backoff` the pending ones still waiting out a retry's
   * backoff; `running` the ones being run. Each count is served by an index (`pending_due` for the
   * first two, `running_leases` (partial on running) for the last, see src/requests/README.md) and
   * cached for `cacheMs` so frequent scrapes by several Prometheus servers cost at most one set of
   * counts per period. Finished requests are not counted: their number only grows; the finished
   * counter gives their rate.
   */
  watchQueueDepth(requests: Collection<RequestDocument>, cacheMs = 5000): void {
    // Once per registry: a second app over the same context (tests) reuses the gauge.
    if (this.registry.getSingleMetric("mongo_reports_queue_depth")) return;
    let cached: { at: number; pending: number; backoff: number; running: number } | null = null;
    new Gauge({
      name: "mongo_reports_queue_depth",
      help: "Requests claimable now (pending), waiting out a retry's backoff (backoff) and being run (running), counted at most every few seconds",
      labelNames: ["status"],
      registers: [this.registry],
      async collect() {
        if (!cached || Date.now() - cached.at >= cacheMs) {
          // The filters KEDA's trigger sums (pending + running), from their one definition.
          const [pending, backoff, running] = await Promise.all([
            requests.countDocuments(DUE_PENDING),
            requests.countDocuments(BACKING_OFF),
            requests.countDocuments(RUNNING),
          ]);
          cached = { at: Date.now(), pending, backoff, running };
        }
        this.set({ status: RequestStatus.Pending }, cached.pending);
        this.set({ status: "backoff" }, cached.backoff);
        this.set({ status: RequestStatus.Running }, cached.running);
      },
    });
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
