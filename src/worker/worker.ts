/**
 * The worker: claims requests and runs them, up to `concurrency` at a time.
 *
 * It is woken by change events (a request became pending; paced so that idle workers do not all
 * claim at once, see claim-pacer.ts), by a periodic sweep (events missed while no worker ran,
 * leases that expired, retries that came due) and whenever a job finishes: the claim loop
 * (background/claim-loop.ts) it shares with the webhook dispatcher. Waking only means "try to
 * claim"; the store's atomic claim decides who gets what, so any number of worker processes can
 * run side by side.
 */
import { MongoServerError, ObjectId } from "mongodb";
import type { BackgroundService } from "../background/service.ts";
import { ClaimLoop, type ReleaseReason } from "../background/claim-loop.ts";
import { instanceId } from "../background/instance-id.ts";
import type { Config } from "../config.ts";
import type { Database } from "../db.ts";
import type { Logger } from "../log.ts";
import { INTEGRATION_FIELDS, refusedFields } from "../requests/admission.ts";
import { ClaimedEnvelope, type ReportResult, type RequestDocument } from "../requests/document.ts";
import type { RequestEvents } from "../requests/events.ts";
import type { Claim, ClaimedBatch, RequestStore, RunRecord } from "../requests/store.ts";
import { CompletionWriter } from "../requests/completions.ts";
import type { LiveCatalogue } from "../reports/live.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { ValidationError, validateParams } from "../reports/validation.ts";
import { deleteChunks, INLINE_ROWS_MAX_BYTES } from "../results/chunks.ts";
import { storedFileName, storedFilesOf } from "../results/locations.ts";
import type { CsvSink } from "../results/sinks/sink.ts";
import { removeStoredFiles } from "../requests/removal.ts";
import { AnnouncedWork } from "./announced-work.ts";
import { ClaimPacer } from "./claim-pacer.ts";
import { classifyError, errorText } from "./errors.ts";
import { executeReport } from "./execute.ts";
import { readPreferenceOf, reportRead } from "../config/report-reads.ts";
import { LeaseKeeper, LeaseLostError } from "./lease.ts";
import { ProgressTracker } from "./progress.ts";
import type { JobOutcome, Metrics } from "../metrics/metrics.ts";
import { decideOutcome, type AttemptState, type Outcome, type RunEnd } from "./outcome.ts";
import { isFinal, RequestStatus } from "../requests/status.ts";

export interface WorkerDeps {
  config: Config;
  database: Database;
  store: RequestStore;
  catalogue: ReportCatalogue;
  /** Re-reads the catalogue: a report defined through the API a moment ago may not have reached this process yet. */
  catalogueLoader?: Pick<LiveCatalogue, "reloadAfterWrite">;
  events: RequestEvents;
  log: Logger;
  /** Where CSV output goes (requests with output csv or both). */
  csvSink?: CsvSink;
  /** Called when this worker has given a request with a pending webhook delivery its final status. */
  onDeliveryDue?: () => void;
  /** Told of each claim and how each attempt ended. */
  metrics?: Metrics;
  /** The name its leases carry (a new instance id when absent). */
  owner?: string;
}

/**
 * The prefetch is held to what the slots should start within this time (see ClaimLoop): jobs of a
 * few milliseconds get all of WORKER_PREFETCH, jobs of a second or more none.
 */
const PREFETCH_WITHIN_MS = 100;

/**
 * At most this many finished jobs may have their slots back while their completions are still
 * unwritten (see Worker.launch); beyond it a finished job keeps its slot until its write returns,
 * so a database that stops answering writes stops the worker claiming rather than piling results
 * up in memory.
 */
const MAX_UNWRITTEN_COMPLETIONS = 100;

/**
 * A claim that read a full batch and lost all of it to other workers tries the next candidates at
 * most this many more times at once (see Worker.pastLostRaces).
 */
const LOST_RACE_RETRIES = 2;

/**
 * After a wake whose claims lost every race, the worker wakes itself again after this long (with
 * jitter), doubling per such wake in a row up to SWEEP_MS: the backlog it lost to is still there,
 * and no event will announce it again. A race lost once is retried within milliseconds; a batch that
 * can never be taken (the server refuses every candidate's update) costs a claim per sweep, as before.
 */
const LOST_RACE_REWAKE_MS = 10;

/** Other workers took every candidate of a full read: more are waiting, none was taken. */
function lostEveryRace(batch: ClaimedBatch): boolean {
  return batch.requests.length === 0 && !batch.exhausted;
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
}

/**
 * The status changes a process that only runs jobs listens for (src/main/worker.ts): `pending` to
 * claim, `running` to forget a request another worker took (no claim for it; the pacer learns of
 * contention), `cancelled` to stop a job it runs or drop one it holds. Not the other final ones:
 * every job it finishes would otherwise come back to it, and to every other worker, as an event.
 * Nor its own claims (`StreamFilter.notClaimedBy`): it knows them from the claims' answers.
 */
export const WORKER_STATUSES: readonly RequestStatus[] = [RequestStatus.Pending, RequestStatus.Running, RequestStatus.Cancelled];

export class Worker implements BackgroundService {
  readonly owner: string;
  /**
   * The jobs this worker runs, by request id, until their end is written (a finished one's slot
   * may be back already: see launch): for cancelling one and aborting all at shutdown.
   */
  private readonly running = new Map<string, RunningJob>();
  /** Every job not yet ended, its completion's write included (see launch): stop() waits for them. */
  private readonly ending = new Set<Promise<void>>();
  /** Jobs whose slot is back while their completion is unwritten (see MAX_UNWRITTEN_COMPLETIONS). */
  private unwritten = 0;
  private readonly loop: ClaimLoop<RequestDocument>;
  private unsubscribe: (() => void) | null = null;
  private readonly pacer = new ClaimPacer();
  /** Which requests events announced: how many to claim, and whether to query at all (see AnnouncedWork). */
  private readonly announced: AnnouncedWork;
  /** Completions of jobs that finish together share one write (see CompletionWriter). */
  private readonly completions: CompletionWriter;
  /** Claims delayed by the pacer, by request id; dropped when another worker claims that request first. */
  private readonly pendingWakes = new Map<string, ReturnType<typeof setTimeout>>();
  /** The next claim was woken by a `pending` event: its outcome tells the pacer how contended claims are. */
  private measureNextClaim = false;
  /** The wake after claims that lost every race (see LOST_RACE_REWAKE_MS), and how many such wakes in a row. */
  private lostRaceWake: ReturnType<typeof setTimeout> | null = null;
  private lostRaceWakes = 0;
  private readonly log: Logger;

  /** When the last claim attempt reached the database (found a job or not). */
  private lastClaimReachedDb = Date.now();

  /**
   * When a look for expired leases last found none. A lease can only expire LEASE_MS after its
   * claim, so looking on every claim (one more findOneAndUpdate per job, more per empty wake) buys
   * nothing: workers look at most once per SWEEP_MS, and keep looking while they find some.
   */
  private expiredLeasesCheckedAt = 0;

  /** WORKER_MAX_JOBS: requests this worker may still claim; Infinity for a resident worker (0: no limit). */
  private claimsLeft: number;
  /** A worker with WORKER_MAX_JOBS has told `onDone` it is done: it claims nothing more. */
  private done = false;

  /**
   * `onUnreachable` is called once claims have failed for `config.unreachableExitMs`: the
   * process should exit so its supervisor restarts it with a fresh client (a stuck driver
   * monitor never recovers on its own; see README, Connection loss). `onDone` is called once by a
   * worker with WORKER_MAX_JOBS when it has nothing more to do (see claimForJob).
   */
  constructor(
    private readonly deps: WorkerDeps,
    private readonly onUnreachable?: (failingForMs: number) => void,
    private readonly onDone?: () => void,
  ) {
    this.owner = deps.owner ?? instanceId();
    this.log = deps.log.child({ worker: this.owner });
    this.claimsLeft = deps.config.workerMaxJobs > 0 ? deps.config.workerMaxJobs : Infinity;
    this.loop = new ClaimLoop({
      capacity: deps.config.workerConcurrency,
      sweepMs: deps.config.sweepMs,
      claim: (max) => this.claim(max),
      run: (doc) => this.launch(doc),
      onClaimFailed: (error) => this.claimFailed(error),
      onRunFailed: (error, doc) => this.log.error("job.unhandled", { request_id: doc._id, error }),
      release: (docs, reason) => Promise.all(docs.map((doc) => this.releaseUnstarted(doc, reason))).then(() => undefined),
      // A few claimed ahead of free slots, so that under a backlog one claim serves several jobs
      // (see ClaimLoop). One that found no slot within a heartbeat is handed back: its lease (held
      // since the claim) then still has most of its time, and an idle process can take it. A
      // worker with WORKER_MAX_JOBS claims only what it runs: a job it handed back would still
      // count against its limit.
      prefetch: deps.config.workerMaxJobs > 0 ? 0 : deps.config.workerPrefetch,
      maxWaitMs: deps.config.heartbeatMs,
      // Only as many as should start within a claim's worth of waiting: with reports that run
      // long, a request held here would wait while another process sits idle.
      prefetchWithinMs: PREFETCH_WITHIN_MS,
    });
    this.completions = new CompletionWriter(deps.store, { gatherMs: deps.config.completionBatchMs, running: () => this.running.size });
    this.announced = new AnnouncedWork(deps.config.sweepMs);
  }

  start(): void {
    this.unsubscribe = this.deps.events.subscribe({
      change: (event) => {
        const key = String(event.id);
        // The insert of a request this worker claimed before hearing of it (an unannounced claim can
        // overtake the event): not work to claim. Its own claim, which used to clear it, is not
        // delivered to it (StreamFilter.notClaimedBy).
        if (event.operation === "insert" && this.holds(key)) return;
        this.announced.heard(key, event.status);
        if (event.status === RequestStatus.Pending) this.wakeForPending(key);
        else this.forgetPending(key); // claimed (or finished) meanwhile: no claim needed for it
        // A cancelled request this worker runs: stop now rather than at the next heartbeat.
        if (event.status === RequestStatus.Cancelled) this.running.get(key)?.keeper.abort(new CancelledError());
        // A prefetched request that ended before it started (cancelled: the cancel cleared its
        // lease, so nothing is left to hand back) never starts. Only a final status says so: a
        // `pending` event may be the insert of a request this worker claimed before hearing of it.
        if (isFinal(event.status)) this.withdrawWaiting(key, event.status);
      },
      resync: () => {
        this.announced.resync();
        this.wake();
      },
    });
    this.log.info("worker.started", { concurrency: this.deps.config.workerConcurrency });
    this.loop.start();
  }

  /** A request became pending: claim now, or after the pacer's delay unless another worker claims it first (see ClaimPacer). */
  private wakeForPending(key: string): void {
    if (this.loop.state !== "running" || this.loop.full) return; // full: a finishing job wakes it
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

  /** Whether this worker runs the request, or holds it claimed waiting for a slot. */
  private holds(key: string): boolean {
    return this.running.has(key) || this.loop.waitingJobs.some((doc) => String(doc._id) === key);
  }

  private withdrawWaiting(key: string, status: string | undefined): void {
    for (const doc of this.loop.withdraw((waiting) => String(waiting._id) === key)) {
      this.log.info("job.withdrawn", { request_id: doc._id, status, reason: "prefetched, changed before it started" });
    }
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

  /** Jobs not yet ended: those in slots, and finished ones whose completion is still being written (see launch). */
  get activeJobs(): number {
    return this.loop.active + this.unwritten;
  }

  /** Claims until the worker is full or nothing is claimable (see ClaimLoop). */
  wake(): void {
    this.loop.wake();
  }

  /**
   * One claim for the loop, of at most `max` requests: as many as were announced (see
   * AnnouncedWork), none without a query when nothing was, several in one batch claim when several were.
   */
  private async claim(max: number): Promise<RequestDocument[]> {
    if (this.claimsLeft !== Infinity) return this.claimForJob(max);
    const asked = this.announced.limit(max);
    if (asked.limit === 0 && Date.now() - this.expiredLeasesCheckedAt < this.deps.config.sweepMs) return [];
    const limit = Math.max(1, asked.limit);
    const first = await this.claimNext(limit);
    if (this.measureNextClaim) {
      // The first try is what tells how contended claims are, whatever a retry then found.
      this.measureNextClaim = false;
      this.pacer.record(first.requests.length > 0);
    }
    const batch = await this.pastLostRaces(first, limit);
    this.lastClaimReachedDb = Date.now();
    const docs = batch.requests;
    this.announced.claimed(
      asked,
      docs.map((doc) => String(doc._id)),
      batch.exhausted,
    );
    return docs;
  }

  /**
   * The claim of a worker with WORKER_MAX_JOBS (a Kubernetes Job's): it asks the database every time
   * (it heard no announcements before it started, and lives too briefly for the saving to matter),
   * for at most the jobs it has left. It is done when a claim finds the queue empty (or it has
   * claimed all its jobs) and no job runs: a claim made after its last job ended says so. A claim
   * that found nothing because other workers were faster does not end it.
   */
  private async claimForJob(max: number): Promise<RequestDocument[]> {
    if (this.done) return [];
    let batch: ClaimedBatch = { requests: [], exhausted: true };
    if (this.claimsLeft > 0) {
      const limit = Math.min(max, this.claimsLeft);
      batch = await this.pastLostRaces(await this.claimNext(limit), limit);
      this.lastClaimReachedDb = Date.now();
      this.claimsLeft -= batch.requests.length;
    }
    const docs = batch.requests;
    if (docs.length === 0 && batch.exhausted && this.loop.active === 0) {
      this.done = true;
      this.log.info("worker.done", { jobs: this.deps.config.workerMaxJobs - this.claimsLeft });
      this.onDone?.();
    }
    return docs;
  }

  /**
   * A claim's answer past lost races: when it read a full batch and other workers took all of it
   * between its read and its write, more wait behind those, and no event will announce them again.
   * The next candidates are tried at once (at most LOST_RACE_RETRIES times, not once stopping), and
   * if those are lost too, the worker wakes itself again shortly (see LOST_RACE_REWAKE_MS) rather
   * than leave the backlog to the other workers until its sweep.
   */
  private async pastLostRaces(first: ClaimedBatch, limit: number): Promise<ClaimedBatch> {
    let batch = first;
    for (let retry = 0; retry < LOST_RACE_RETRIES && lostEveryRace(batch) && this.loop.state === "running"; retry++) {
      batch = await this.claimNext(limit);
    }
    if (!lostEveryRace(batch)) this.lostRaceWakes = 0;
    else this.wakeAfterLostRaces();
    return batch;
  }

  /** Schedules the worker's own wake after a wake whose claims all lost (see LOST_RACE_REWAKE_MS); one at a time. */
  private wakeAfterLostRaces(): void {
    if (this.loop.state !== "running" || this.lostRaceWake) return;
    const backoffMs = Math.min(this.deps.config.sweepMs, LOST_RACE_REWAKE_MS * 2 ** this.lostRaceWakes);
    this.lostRaceWakes += 1;
    this.lostRaceWake = setTimeout(
      () => {
        this.lostRaceWake = null;
        this.wake();
      },
      backoffMs * (0.5 + Math.random()),
    );
  }

  /** An expired lease first when a look is due (see expiredLeasesCheckedAt), else the oldest due pending requests. */
  private async claimNext(limit: number): Promise<ClaimedBatch> {
    const { config, store } = this.deps;
    if (Date.now() - this.expiredLeasesCheckedAt >= config.sweepMs) {
      const retaken = await store.claimExpired(this.owner, config.leaseMs);
      // An expired lease says nothing of the pending requests: not exhausted.
      if (retaken) return { requests: [retaken], exhausted: false };
      this.expiredLeasesCheckedAt = Date.now();
    }
    return store.claimPendingBatch(this.owner, config.leaseMs, limit);
  }

  /** The sweep will try again; a database outage must not kill the worker, unless it lasts (see onUnreachable). */
  private claimFailed(error: unknown): void {
    // A server's answer, even a refusal, means the database is reachable: only failures to reach
    // it count towards UNREACHABLE_EXIT_S (a restart would not cure a refusal).
    if (answeredByServer(error)) {
      this.lastClaimReachedDb = Date.now();
      this.log.warn("claim.failed", { error, failing_for_ms: 0 });
      return;
    }
    const { unreachableExitMs } = this.deps.config;
    const failingForMs = Date.now() - this.lastClaimReachedDb;
    this.log.warn("claim.failed", { error, failing_for_ms: failingForMs });
    if (unreachableExitMs > 0 && failingForMs >= unreachableExitMs && this.onUnreachable) {
      this.log.error("worker.database_unreachable", { failing_for_ms: failingForMs });
      this.onUnreachable(failingForMs);
    }
  }

  /** Claimed but never started (while stopping, or prefetched and no slot came): hand the request back without spending its attempt. */
  private async releaseUnstarted(doc: RequestDocument, reason: ReleaseReason): Promise<void> {
    const claim: Claim = { id: doc._id, owner: this.owner, attempt: doc.attempts };
    try {
      this.log.info("job.released", {
        request_id: doc._id,
        released: await this.deps.store.release(claim),
        reason,
      });
    } catch (error) {
      // Its lease expires and another worker retakes it (one attempt spent).
      this.log.warn("job.release_failed", { request_id: doc._id, error });
    }
  }

  /**
   * Runs one claimed job. The promise the claim loop counts as the job's slot settles once the
   * report has finished and its completion is on its way (CompletionWriter: in the write going
   * out, or queued behind the one in flight), not once the write has returned: the slot takes its
   * next job while that write shares a round trip with other jobs' completions (graphile-worker's
   * batched `completeJob` is not awaited either). The lease still fences the write, the job stays
   * in `running` until it is written, and stop() waits for every job's end (`ending`).
   */
  private launch(doc: RequestDocument): Promise<void> {
    const { config, store } = this.deps;
    const claim: Claim = { id: doc._id, owner: this.owner, attempt: doc.attempts };
    this.deps.metrics?.jobClaimed(doc);
    const progress = new ProgressTracker();
    const keeper = new LeaseKeeper(
      store,
      claim,
      config.leaseMs,
      config.heartbeatMs,
      this.log,
      { tracker: progress, intervalMs: config.progressIntervalMs },
      // A prefetched job waited for its slot: its lease runs from the claim, not from now.
      leaseSecuredAt(doc, config.leaseMs),
    );
    const key = String(doc._id);
    this.running.set(key, { claim, keeper });
    let slotFreed = false;
    let freeSlot!: () => void;
    const slot = new Promise<void>((resolve) => {
      freeSlot = () => {
        if (slotFreed || this.unwritten >= MAX_UNWRITTEN_COMPLETIONS) return;
        slotFreed = true;
        this.unwritten += 1;
        resolve();
      };
    });
    const job = (async () => {
      try {
        await this.runAttempt(doc, claim, keeper, progress, freeSlot);
      } finally {
        // Only this attempt's entry: while its completion waited, its lease may have run out and
        // this worker retaken the request under the same key (claimExpired).
        if (this.running.get(key)?.keeper === keeper) this.running.delete(key);
        if (slotFreed) this.unwritten -= 1;
        this.completions.jobEnded();
      }
    })();
    const ended = job.then(
      () => undefined,
      // Until its slot is back the claim loop reports a failure (onRunFailed); after, only this can.
      (error: unknown) => {
        if (slotFreed) this.log.error("job.unhandled", { request_id: doc._id, error });
      },
    );
    this.ending.add(ended);
    void ended.then(() => this.ending.delete(ended));
    return Promise.race([job, slot]);
  }

  private async runAttempt(
    doc: RequestDocument,
    claim: Claim,
    keeper: LeaseKeeper,
    progress: ProgressTracker,
    freeSlot: () => void,
  ): Promise<void> {
    const log = this.log.child({ request_id: doc._id, attempt: claim.attempt });
    const attempts: AttemptRun = { attempt: claim.attempt, maxAttempts: this.deps.config.maxAttempts, record: {} };
    const startedAt = Date.now();
    let result: ReportResult | undefined;
    let end: RunEnd;
    try {
      result = await this.runReport(doc, claim, keeper, progress, attempts, log);
      end = result ? { kind: "finished" } : { kind: "attempts_exhausted" };
    } catch (error) {
      end = runEnd(error, keeper.signal);
      // The request's error is what a client may read (no server paths: see classifyError); the log has it whole.
      if (end.kind === "failed" && end.error.error.message !== errorText(error)) log.warn("job.error_detail", { error });
    } finally {
      keeper.stop();
    }
    const outcome = decideOutcome(end, attempts, { retryBaseMs: this.deps.config.retryBaseMs });
    const ended = await this.settle(
      outcome,
      claim,
      result,
      attempts,
      log.child({ report_name: doc.report_name, ms: Date.now() - startedAt }),
      freeSlot,
    );
    // Its webhook is due now: this process's dispatcher delivers it (no other process is woken).
    if (doc.callback?.state === "pending" && (ended === "completed" || ended === "error")) this.deps.onDeliveryDue?.();
    const { rows, bytes } = progress.snapshot();
    this.deps.metrics?.jobEnded({
      reportName: doc.report_name,
      outcome: ended,
      errorCode: "error" in outcome ? outcome.error.code : undefined,
      runMs: Date.now() - startedAt,
      rows,
      csvBytes: bytes ?? 0,
    });
  }

  /**
   * Validates and runs the report; undefined (nothing run) when the request is past its attempts.
   * Sets `attempts.maxAttempts` once the report (which may have its own limit) is known, and
   * `attempts.record` once the parameters are valid, for the final write to carry.
   */
  private async runReport(
    doc: RequestDocument,
    claim: Claim,
    keeper: LeaseKeeper,
    progress: ProgressTracker,
    attempts: AttemptRun,
    log: Logger,
  ) {
    const { config, database, store } = this.deps;
    if (!store.seal.verify(doc)) await this.admit(doc, claim);
    const envelope = validateParams(doc, ClaimedEnvelope);
    const report = await this.requireReport(envelope.report_name, log);
    attempts.maxAttempts = positiveInteger(envelope.max_attempts) ?? report.maxAttempts ?? config.maxAttempts;
    log.info("job.started", { report_name: report.name });
    // Earlier attempts ended without a result (their workers died); do not start another.
    if (claim.attempt > attempts.maxAttempts) return undefined;
    const params = validateParams(envelope.params, report.params, ["params"]);
    // A data-defined report's version is recorded with the request, so its rows can be explained.
    const version = report.version === undefined ? {} : { definition_version: report.version };
    // Where the report reads (REPORT_READ_PREFERENCE and its tags), recorded with the request.
    const read = reportRead(config.reportReadPreference, config.reportReadTags, config.reportMaxStalenessS);
    attempts.record = { ...missingDefaults(doc, envelope), ...version, read };
    const maxTimeMS = report.maxTimeMS ?? config.reportMaxTimeMs;
    const deadline = setTimeout(
      () => keeper.abort(new JobTimeoutError(`the report ran past its time limit of ${maxTimeMS} ms`)),
      maxTimeMS,
    );
    try {
      return await executeReport(report, params, {
        db: database.db,
        results: database.results,
        requestId: doc._id,
        attempt: claim.attempt,
        rowsPerChunk: config.rowsPerChunk,
        inlineRowsMaxBytes: INLINE_ROWS_MAX_BYTES,
        maxTimeMS,
        readPreference: readPreferenceOf(read),
        signal: keeper.signal,
        output: envelope.output,
        csvSink: this.deps.csvSink,
        csvFormulaGuard: config.csv.formulaGuard,
        hiddenFields: config.hiddenFields,
        onExportStats: (format, stats) => log.info("job.file_written", { format, ...stats }),
        progress,
      });
    } finally {
      clearTimeout(deadline);
    }
  }

  /**
   * Admits a document an integration inserted (the API's requests carry the service's seal): it is
   * sealed as an ownerless request, without the fields only the service writes, and refused when
   * it carried any of them (requests/admission.ts; docs/integrations.md).
   */
  private async admit(doc: RequestDocument, claim: Claim): Promise<void> {
    // Files, rows and webhooks are keyed by the id: a string equal to a real request's hex would reach that request's.
    if (!(doc._id instanceof ObjectId)) throw new ValidationError([{ field: "_id", message: "a request's _id is an ObjectId" }]);
    const refused = refusedFields(doc);
    await this.deps.store.admit(claim);
    if (refused.length > 0) {
      throw new ValidationError(
        refused.map((field) => ({
          field,
          message: `only the service writes ${field}; an integration inserts ${INTEGRATION_FIELDS.join(", ")}`,
        })),
      );
    }
  }

  /**
   * The report a request names. One not known here may have been defined (PUT
   * /v1/report-definitions/:name) since this process last reloaded its catalogue: reload once, with
   * a read that starts now (the request, written after the definition, is already here), before
   * failing the request as unknown_report.
   */
  private async requireReport(name: string, log: Logger) {
    const { catalogue, catalogueLoader } = this.deps;
    if (catalogueLoader && !catalogue.get(name)) {
      await catalogueLoader.reloadAfterWrite().catch((error) => log.warn("catalogue.reload_failed", { error }));
    }
    return catalogue.require(name);
  }

  /**
   * Removes the files an attempt committed but could not record: named by this claim's id and
   * attempt (results/locations.ts), which are this attempt's own, so no other attempt's file.
   */
  private async removeOurFiles(claim: Claim, result: ReportResult, log: Logger): Promise<void> {
    const files = storedFilesOf({ _id: claim.id, result: { attempt: claim.attempt, csv: result.csv, files: result.files } });
    for (const { file, error } of await removeStoredFiles(this.deps.csvSink, files)) {
      log.warn("job.file_remove_failed", { file: storedFileName(file.requestId, file.attempt, file.ext), error });
    }
  }

  /**
   * Applies a decided outcome: the one place a job's end is written. Returns how it ended, for
   * metrics. A completion frees the job's slot once it is on its way to the database (see launch).
   */
  private async settle(
    outcome: Outcome,
    claim: Claim,
    result: ReportResult | undefined,
    attempts: AttemptRun,
    log: Logger,
    freeSlot: () => void,
  ): Promise<JobOutcome> {
    const { store, database } = this.deps;
    // Rows of this attempt and earlier ones; never a newer attempt's (one that retook the request
    // after our lease expired may be writing).
    const removeOurRows = () => deleteChunks(database.results, claim.id, claim.attempt + 1);
    switch (outcome.action) {
      case "complete": {
        if (await this.completions.complete(claim, result!, attempts.record, freeSlot)) {
          log.info("job.completed", { rows: result!.row_count });
          // A worker that lost an earlier attempt may have written rows after this attempt began.
          // A first attempt has no earlier one (chunks carry attempt >= 1): skip the round trip.
          if (claim.attempt > 1) await deleteChunks(database.results, claim.id, claim.attempt);
          return "completed";
        } else {
          // Cancelled, retaken or deleted meanwhile: this attempt's rows and file will never be read.
          await removeOurRows();
          await this.removeOurFiles(claim, result!, log);
          log.warn("job.result_discarded", { reason: "lease lost before completion" });
          return "lease_lost";
        }
      }
      case "drop":
        await removeOurRows();
        if (outcome.reason === "cancelled") log.info("job.cancelled", {});
        else log.warn("job.abandoned", { reason: outcome.message });
        return outcome.reason;
      case "release": {
        // A released job is claimed again under the same attempt number, whose chunk keys must be free.
        await removeOurRows();
        log.info("job.released", { released: await store.release(claim) });
        return "released";
      }
      case "retry_later":
        await removeOurRows();
        await store.retryLater(claim, outcome.error, new Date(Date.now() + outcome.delayMs), attempts.record);
        log.warn("job.retry_scheduled", { error: outcome.error, delay_ms: outcome.delayMs, max_attempts: attempts.maxAttempts });
        return "retry";
      case "fail":
        await removeOurRows();
        await store.fail(claim, outcome.error, undefined, attempts.record);
        log.warn("job.failed", { error: outcome.error });
        return "error";
    }
  }

  /**
   * Stops claiming, lets running jobs finish within the grace period, then aborts and releases
   * the rest so another worker picks them up at once (not after their leases expire).
   */
  async stop(): Promise<void> {
    if (this.loop.state === "stopping" || this.loop.state === "stopped") return;
    this.unsubscribe?.();
    for (const timer of this.pendingWakes.values()) clearTimeout(timer);
    this.pendingWakes.clear();
    if (this.lostRaceWake) clearTimeout(this.lostRaceWake);
    this.lostRaceWake = null;
    // A claim in flight ends in a release (see ClaimLoop); once it has, every job is counted.
    await this.loop.stop();
    const graceful = this.loop.settled().then(() => true);
    const timedOut = new Promise<false>((resolve) => setTimeout(() => resolve(false), this.deps.config.shutdownGraceMs).unref?.());
    if (!(await Promise.race([graceful, timedOut]))) {
      for (const job of this.running.values()) job.keeper.abort(new ShutdownError("worker shutting down"));
      await this.loop.settled();
    }
    // Finished jobs whose completions are still being written (their slots were freed first).
    await Promise.all(this.ending);
    // The fan-out figure (bench/fanout.ts): change events this process received, and claim contention as the pacer saw it.
    this.log.info("worker.stopped", {
      events_delivered: this.deps.events.delivered,
      event_claims: this.pacer.claims,
      event_claims_empty: this.pacer.emptyClaims,
      claim_contention: this.pacer.level,
    });
  }
}

/** What ended a run that threw: the reason its signal was aborted with, else the error itself. */
function runEnd(error: unknown, signal: AbortSignal): RunEnd {
  const reason = signal.aborted ? signal.reason : undefined;
  if (reason instanceof LeaseLostError) return { kind: "lease_lost", message: reason.message };
  if (reason instanceof CancelledError) return { kind: "cancelled" };
  if (reason instanceof JobTimeoutError) return { kind: "timed_out", message: reason.message };
  if (reason instanceof ShutdownError) return { kind: "shutdown" };
  return { kind: "failed", error: classifyError(error) };
}

/** When the claim that returned `doc` secured its lease (its `lease.until` less the lease's length); now if it does not say. */
function leaseSecuredAt(doc: RequestDocument, leaseMs: number): number {
  const until = doc.lease?.until;
  return until instanceof Date ? Math.min(Date.now(), until.getTime() - leaseMs) : Date.now();
}

/** The server answered (with an error): it was reached. */
function answeredByServer(error: unknown): boolean {
  return error instanceof MongoServerError;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Fields a Mongo-native request may lack, filled so its status reads like any other. */
/** An attempt's state in this worker: its AttemptState and what the run records (RunRecord). */
interface AttemptRun extends AttemptState {
  record: RunRecord;
}

function missingDefaults(doc: RequestDocument, envelope: ClaimedEnvelope): RunRecord {
  const defaults: RunRecord = {};
  if (!(doc.report_date instanceof Date)) {
    const created = typeof (doc._id as { getTimestamp?: () => Date }).getTimestamp === "function" ? doc._id.getTimestamp() : new Date();
    defaults.report_date = created;
  }
  if (doc.output !== envelope.output) defaults.output = envelope.output;
  if (doc.params === undefined) defaults.params = envelope.params;
  return defaults;
}
