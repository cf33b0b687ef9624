/**
 * The worker: claims requests and runs them, up to `concurrency` at a time.
 *
 * It is woken by change events (a request became pending; paced so that idle workers do not all
 * claim at once, see claim-pacer.ts), by a periodic sweep (events missed
 * while no worker ran, leases that expired, retries that came due) and whenever a job finishes.
 * Waking only means "try to claim"; the store's atomic claim decides who gets what, so any number
 * of worker processes can run side by side.
 */
import { hostname } from "node:os";
import process from "node:process";
import type { Config } from "../config.ts";
import type { Database } from "../db.ts";
import type { Logger } from "../log.ts";
import { ClaimedEnvelope, type RequestDocument } from "../requests/document.ts";
import type { RequestEvents } from "../requests/events.ts";
import type { Claim, RequestStore } from "../requests/store.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { validateParams } from "../reports/validation.ts";
import { deleteChunks } from "../results/chunks.ts";
import type { CsvSink } from "../results/sinks/sink.ts";
import { ClaimPacer } from "./claim-pacer.ts";
import { classifyError, retryDelayMs } from "./errors.ts";
import { executeReport } from "./execute.ts";
import { LeaseKeeper, LeaseLostError } from "./lease.ts";
import { ProgressTracker } from "./progress.ts";
import type { JobOutcome, Metrics } from "../metrics/metrics.ts";
import { purgeExpired } from "./retention.ts";

export interface WorkerDeps {
  config: Config;
  database: Database;
  store: RequestStore;
  catalogue: ReportCatalogue;
  events: RequestEvents;
  log: Logger;
  /** Where CSV output goes (requests with output csv or both). */
  csvSink?: CsvSink;
  /** Told of each claim and how each attempt ended. */
  metrics?: Metrics;
}

class ShutdownError extends Error {
  override name = "ShutdownError";
}

class CancelledError extends Error {
  override name = "CancelledError";
  constructor() {
    super("the request was cancelled");
  }
}

/** The run went past the report's time limit (checked here too: not every server enforces maxTimeMS on a cursor's later batches). */
class JobTimeoutError extends Error {
  override name = "JobTimeoutError";
}

interface RunningJob {
  claim: Claim;
  keeper: LeaseKeeper;
  done: Promise<void>;
}

export class Worker {
  readonly owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private readonly running = new Map<string, RunningJob>();
  private stopping = false;
  private claiming = false;
  private wakeAgain = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private retentionTimer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly pacer = new ClaimPacer();
  /** Claims delayed by the pacer, by request id; dropped when another worker claims that request first. */
  private readonly pendingWakes = new Map<string, ReturnType<typeof setTimeout>>();
  /** The next claim was woken by a `pending` event: its outcome tells the pacer how contended claims are. */
  private measureNextClaim = false;
  private readonly log: Logger;

  /** When the last claim attempt reached the database (found a job or not). */
  private lastClaimReachedDb = Date.now();

  /**
   * `onUnreachable` is called once claims have failed for `config.unreachableExitMs`: the
   * process should exit so its supervisor restarts it with a fresh client (a stuck driver
   * monitor never recovers on its own; see README, Connection loss).
   */
  constructor(
    private readonly deps: WorkerDeps,
    private readonly onUnreachable?: (failingForMs: number) => void,
  ) {
    this.log = deps.log.child({ worker: this.owner });
  }

  start(): void {
    this.unsubscribe = this.deps.events.subscribe({
      change: (event) => {
        const key = String(event.id);
        if (event.status === "pending") this.wakeForPending(key);
        else this.forgetPending(key); // claimed (or finished) meanwhile: no claim needed for it
        // A cancelled request this worker runs: stop now rather than at the next heartbeat.
        if (event.status === "cancelled") this.running.get(key)?.keeper.abort(new CancelledError());
      },
      resync: () => this.wake(),
    });
    this.sweepTimer = setInterval(() => this.wake(), this.deps.config.sweepMs);
    if (this.deps.config.retentionMs > 0) {
      this.retentionTimer = setInterval(() => void this.purge(), this.deps.config.retentionSweepMs);
    }
    this.log.info("worker.started", { concurrency: this.deps.config.workerConcurrency });
    this.wake();
  }

  private async purge(): Promise<void> {
    try {
      const removed = await purgeExpired({
        database: this.deps.database,
        store: this.deps.store,
        retentionMs: this.deps.config.retentionMs,
        removeArtifacts: (id) => this.removeCsv(id),
      });
      if (removed > 0) this.log.info("retention.purged", { requests: removed });
    } catch (error) {
      this.log.warn("retention.failed", { error });
    }
  }

  /** Retention: an expired request's CSV file goes with it. */
  private async removeCsv(id: unknown): Promise<void> {
    const doc = await this.deps.store.get(id as RequestDocument["_id"]);
    const csv = doc?.result?.csv;
    if (csv && this.deps.csvSink) await this.deps.csvSink.remove({ sink: csv.bucket ? "gcs" : "local", rows: 0, ...csv });
  }

  /** A request became pending: claim now, or after the pacer's delay unless another worker claims it first (see ClaimPacer). */
  private wakeForPending(key: string): void {
    if (this.stopping || this.running.size >= this.deps.config.workerConcurrency) return; // full: a finishing job wakes it
    const delay = this.pacer.delayMs();
    if (delay < 1) return this.wakeByEvent();
    if (this.pendingWakes.has(key)) return;
    this.pendingWakes.set(
      key,
      setTimeout(() => {
        this.pendingWakes.delete(key);
        this.wakeByEvent();
      }, delay),
    );
  }

  private forgetPending(key: string): void {
    const timer = this.pendingWakes.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pendingWakes.delete(key);
  }

  private wakeByEvent(): void {
    this.measureNextClaim = true;
    this.wake();
  }

  get activeJobs(): number {
    return this.running.size;
  }

  /** Claims until the worker is full or nothing is claimable. Calls while claiming coalesce. */
  wake(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.wakeAgain = true;
      return;
    }
    this.claiming = true;
    void this.claimLoop().finally(() => {
      this.claiming = false;
    });
  }

  private async claimLoop(): Promise<void> {
    const { config, store } = this.deps;
    do {
      this.wakeAgain = false;
      while (!this.stopping && this.running.size < config.workerConcurrency) {
        let doc: RequestDocument | null;
        try {
          doc = await store.claim(this.owner, config.leaseMs);
          this.lastClaimReachedDb = Date.now();
          if (this.measureNextClaim) {
            this.measureNextClaim = false;
            this.pacer.record(doc !== null);
          }
        } catch (error) {
          // The sweep will try again; a database outage must not kill the worker.
          const failingForMs = Date.now() - this.lastClaimReachedDb;
          this.log.warn("claim.failed", { error, failing_for_ms: failingForMs });
          if (config.unreachableExitMs > 0 && failingForMs >= config.unreachableExitMs && this.onUnreachable) {
            this.log.error("worker.database_unreachable", { failing_for_ms: failingForMs });
            this.onUnreachable(failingForMs);
          }
          return;
        }
        if (!doc) break;
        this.launch(doc);
      }
    } while (this.wakeAgain && !this.stopping);
  }

  private launch(doc: RequestDocument): void {
    const { config, store } = this.deps;
    const claim: Claim = { id: doc._id, owner: this.owner, attempt: doc.attempts };
    this.deps.metrics?.jobClaimed(doc);
    const progress = new ProgressTracker();
    const keeper = new LeaseKeeper(store, claim, config.leaseMs, config.heartbeatMs, this.log, {
      tracker: progress,
      intervalMs: config.progressIntervalMs,
    });
    const key = String(doc._id);
    const done = this.process(doc, claim, keeper, progress)
      .catch((error) => this.log.error("job.unhandled", { request_id: doc._id, error }))
      .finally(() => {
        keeper.stop();
        this.running.delete(key);
        this.wake();
      });
    this.running.set(key, { claim, keeper, done });
  }

  private async process(doc: RequestDocument, claim: Claim, keeper: LeaseKeeper, progress: ProgressTracker): Promise<void> {
    const { config, database, store, catalogue } = this.deps;
    const log = this.log.child({ request_id: doc._id, attempt: claim.attempt });
    const startedAt = Date.now();
    const ended = (outcome: JobOutcome, errorCode?: string) => {
      const { rows, bytes } = progress.snapshot();
      this.deps.metrics?.jobEnded({
        reportName: doc.report_name,
        outcome,
        errorCode,
        runMs: Date.now() - startedAt,
        rows,
        csvBytes: bytes ?? 0,
      });
    };
    let maxAttempts = config.maxAttempts;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    try {
      const envelope = validateParams(doc, ClaimedEnvelope);
      const report = catalogue.require(envelope.report_name);
      maxAttempts = positiveInteger(envelope.max_attempts) ?? report.maxAttempts ?? config.maxAttempts;
      log.info("job.started", { report_name: report.name });
      if (claim.attempt > maxAttempts) {
        // Earlier attempts ended without a result (their workers died); do not start another.
        await store.fail(claim, {
          code: "attempts_exhausted",
          message: `no attempt finished in ${maxAttempts} tries; the last worker stopped without a result`,
        });
        ended("error", "attempts_exhausted");
        return;
      }
      const params = validateParams(envelope.params, report.params, ["params"]);
      await store.fillDefaults(claim, missingDefaults(doc, envelope));
      const maxTimeMS = report.maxTimeMS ?? config.reportMaxTimeMs;
      deadline = setTimeout(() => keeper.abort(new JobTimeoutError(`the report ran past its time limit of ${maxTimeMS} ms`)), maxTimeMS);
      const result = await executeReport(report, params, {
        db: database.db,
        results: database.results,
        requestId: doc._id,
        attempt: claim.attempt,
        rowsPerChunk: config.rowsPerChunk,
        maxTimeMS,
        signal: keeper.signal,
        output: envelope.output,
        csvSink: this.deps.csvSink,
        csvFormulaGuard: config.csv.formulaGuard,
        onCsvStats: (stats) => log.info("job.csv_written", { ...stats }),
        progress,
      });
      keeper.stop();
      if (await store.complete(claim, result)) {
        ended("completed");
        log.info("job.completed", { report_name: report.name, rows: result.row_count, ms: Date.now() - startedAt });
        // A worker that lost an earlier attempt may have written rows after this attempt began.
        // A first attempt has no earlier one (chunks carry attempt >= 1): skip the round trip.
        if (claim.attempt > 1) await deleteChunks(database.results, doc._id, claim.attempt);
      } else {
        // Cancelled or retaken meanwhile: this attempt's rows will never be read.
        await deleteChunks(database.results, doc._id, claim.attempt + 1);
        log.warn("job.result_discarded", { reason: "lease lost before completion" });
        ended("lease_lost");
      }
    } catch (error) {
      keeper.stop();
      ended(await this.handleFailure(error, claim, keeper.signal, maxAttempts, log), failureCode(error, keeper.signal));
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Decides and records what a failed attempt means; returns how it ended (for metrics). */
  private async handleFailure(error: unknown, claim: Claim, signal: AbortSignal, maxAttempts: number, log: Logger): Promise<JobOutcome> {
    const { config, store } = this.deps;
    const reason = signal.aborted ? signal.reason : undefined;
    if (reason instanceof LeaseLostError) {
      // Cancelled, or retaken after our lease expired: drop our partial rows, never a newer attempt's.
      await deleteChunks(this.deps.database.results, claim.id, claim.attempt + 1);
      log.warn("job.abandoned", { reason: reason.message });
      return "lease_lost";
    }
    if (reason instanceof CancelledError) {
      // Already marked cancelled by whoever cancelled it; only the partial rows are ours to remove.
      await deleteChunks(this.deps.database.results, claim.id);
      log.info("job.cancelled", {});
      return "cancelled";
    }
    // Whatever happens next (release, retry, failure), this attempt's partial rows are garbage:
    // a released job is claimed again under the same attempt number, whose chunk keys must be free.
    await deleteChunks(this.deps.database.results, claim.id, claim.attempt + 1);
    if (reason instanceof JobTimeoutError) {
      await store.fail(claim, { code: "timeout", message: reason.message });
      log.warn("job.failed", { error: { code: "timeout", message: reason.message } });
      return "error";
    }
    if (reason instanceof ShutdownError) {
      const released = await store.release(claim);
      log.info("job.released", { released });
      return "released";
    }
    const classified = classifyError(error);
    if (classified.retryable && claim.attempt < maxAttempts) {
      const delay = retryDelayMs(config.retryBaseMs, claim.attempt);
      await store.retryLater(claim, classified.error, new Date(Date.now() + delay));
      log.warn("job.retry_scheduled", { error: classified.error, delay_ms: delay, max_attempts: maxAttempts });
      return "retry";
    }
    await store.fail(claim, classified.error);
    log.warn("job.failed", { error: classified.error });
    return "error";
  }

  /**
   * Stops claiming, lets running jobs finish within the grace period, then aborts and releases
   * the rest so another worker picks them up at once (not after their leases expire).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribe?.();
    for (const timer of this.pendingWakes.values()) clearTimeout(timer);
    this.pendingWakes.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    const jobs = () => [...this.running.values()].map((job) => job.done);
    const graceful = Promise.all(jobs()).then(() => true);
    const timedOut = new Promise<false>((resolve) => setTimeout(() => resolve(false), this.deps.config.shutdownGraceMs).unref?.());
    if (!(await Promise.race([graceful, timedOut]))) {
      for (const job of this.running.values()) job.keeper.abort(new ShutdownError("worker shutting down"));
      await Promise.all(jobs());
    }
    // The fan-out figure (bench/fanout.ts): change events this process received, and claim contention as the pacer saw it.
    this.log.info("worker.stopped", { events_delivered: this.deps.events.delivered, claim_contention: this.pacer.level });
  }
}

/** The error code a failed attempt is recorded under (as handleFailure classifies it). */
function failureCode(error: unknown, signal: AbortSignal): string | undefined {
  const reason = signal.aborted ? signal.reason : undefined;
  if (reason instanceof JobTimeoutError) return "timeout";
  if (reason) return undefined;
  return classifyError(error).error.code;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Fields a Mongo-native request may lack, filled so its status reads like any other. */
function missingDefaults(doc: RequestDocument, envelope: ClaimedEnvelope): Partial<RequestDocument> {
  const defaults: Partial<RequestDocument> = {};
  if (!(doc.report_date instanceof Date)) {
    const created = typeof (doc._id as { getTimestamp?: () => Date }).getTimestamp === "function" ? doc._id.getTimestamp() : new Date();
    defaults.report_date = created;
  }
  if (doc.output !== envelope.output) defaults.output = envelope.output;
  if (doc.params === undefined) defaults.params = envelope.params;
  return defaults;
}
