/**
 * The loop every claiming service runs (the job worker, the webhook dispatcher): woken by events,
 * by a periodic sweep and by its own finished jobs, it claims until it is full or nothing is
 * claimable, and runs each claimed job without waiting for it. Wakes that arrive while it is
 * claiming coalesce into one more round, so a burst of events costs one claim per free slot, not
 * one per event.
 *
 * What a claim is and what running a job means are injected (`claim`, `run`), as pg-boss injects
 * `fetch` into its one Worker class: the loop knows nothing of requests or deliveries. The claim
 * takes how many slots are free and may answer with up to that many jobs, so a store that can
 * claim a batch in one round trip plugs in unchanged.
 *
 * Waking only means "try to claim": the store's atomic claim decides who gets what, so any number
 * of processes can run the same loop side by side.
 *
 * Prefetch (`prefetch` > 0): a claim asks for the free slots plus `prefetch` more, and the jobs
 * beyond the free slots wait here for a slot. A freed slot takes a waiting job without a claim;
 * the loop claims again only when a slot is free and nothing waits, so under a backlog one claim
 * serves `prefetch + 1` jobs instead of one (slots free one at a time). A waiting job holds its
 * claim (a lease), which costs other processes nothing as long as it is short: one that waited
 * `maxWaitMs` without a slot (this process's jobs are long) is handed back (`release`) so an idle
 * process can take it, and stop() hands back every waiting job. If the process dies, the leases of
 * its waiting jobs expire like any other and the jobs are retaken. `withdraw` drops waiting jobs
 * that must not run any more (a cancelled request). With `prefetchWithinMs`, the loop holds only
 * as many as its slots are expected to start within that time, from how long its recent jobs ran:
 * long jobs get no prefetch at all (a request must not wait behind them while another process is
 * idle), short ones the whole prefetch. Until a job has ended, the loop assumes short ones.
 */

export interface ClaimLoopOptions<Job> {
  /** How many jobs may run at once. */
  capacity: number;
  /** The safety-net wake: events missed while no process ran, leases that expired, retries come due. */
  sweepMs: number;
  /**
   * Claims at most `max` jobs (max >= 1); an empty array when it could take nothing now (nothing
   * claimable, or other processes were faster: the owner wakes the loop again if more is waiting).
   */
  claim(max: number): Promise<Job[]>;
  /** Runs one claimed job to its end. The loop does not wait for it, only counts it until it settles. */
  run(job: Job): Promise<void>;
  /** A claim threw (the database is away): the loop stops until the next wake, so the sweep retries. */
  onClaimFailed(error: unknown): void;
  /** `run` rejected: a defect, logged by the owner; the slot is freed all the same. */
  onRunFailed(error: unknown, job: Job): void;
  /**
   * Hands back jobs whose claim answered after stop() began. Without it they run like any other,
   * and stop() waits for them (see `stop`).
   */
  release?(jobs: Job[], reason: ReleaseReason): Promise<void>;
  /** Claimed jobs that may wait for a slot beyond the free ones (see above); 0 (the default) claims for free slots only. Needs `release`. */
  prefetch?: number;
  /** A prefetched job waiting longer than this for a slot is released (see above). */
  maxWaitMs?: number;
  /** Prefetch only what the slots should start within this time, judged by recent run times (see above). */
  prefetchWithinMs?: number;
}

/** Why jobs are handed back: claimed while stopping, or prefetched and not started within `maxWaitMs`. */
export type ReleaseReason = "claimed while stopping" | "prefetched, no slot in time";

interface WaitingJob<Job> {
  job: Job;
  since: number;
}

/** Weight of the newest run time in the loop's moving average (see prefetchWithinMs). */
const RUN_MS_WEIGHT = 0.2;

/** created → running (start) → stopping (stop) → stopped (the claim in flight has settled). */
export type ClaimLoopState = "created" | "running" | "stopping" | "stopped";

export class ClaimLoop<Job> {
  private current: ClaimLoopState = "created";
  /** The claiming round running now, if any: stop() waits for it, so a claim it has out is settled. */
  private round: Promise<void> | null = null;
  /** A wake arrived while a round was claiming: claim once more when it ends. */
  private wakeAgain = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped: Promise<void> | null = null;
  /** Prefetched jobs waiting for a slot, oldest first. */
  private waiting: WaitingJob<Job>[] = [];
  private waitTimer: ReturnType<typeof setTimeout> | null = null;
  /** Releases of waiting jobs in flight: stop() waits for them. */
  private readonly releasing = new Set<Promise<void>>();
  private readonly prefetch: number;
  /** Moving average of how long jobs ran (ms); undefined until one has ended. */
  private runMs: number | undefined;

  constructor(private readonly options: ClaimLoopOptions<Job>) {
    this.prefetch = Math.max(0, Math.floor(options.prefetch ?? 0));
    if (this.prefetch > 0 && !options.release) throw new Error("a claim loop that prefetches needs `release` to hand jobs back");
  }

  get state(): ClaimLoopState {
    return this.current;
  }

  /** Jobs running now. */
  get active(): number {
    return this.inFlight.size;
  }

  get full(): boolean {
    return this.inFlight.size >= this.options.capacity;
  }

  /** Prefetched jobs waiting for a slot. */
  get waitingJobs(): readonly Job[] {
    return this.waiting.map((w) => w.job);
  }

  /** Drops the waiting jobs `matches` picks (they must not run: a cancelled request); returns them. */
  withdraw(matches: (job: Job) => boolean): Job[] {
    const dropped = this.waiting.filter((w) => matches(w.job));
    if (dropped.length > 0) this.waiting = this.waiting.filter((w) => !matches(w.job));
    return dropped.map((w) => w.job);
  }

  /** Starts the sweep and claims at once. */
  start(): void {
    if (this.current !== "created") return;
    this.current = "running";
    this.sweepTimer = setInterval(() => this.wake(), this.options.sweepMs);
    this.wake();
  }

  /** Claims until full or nothing is claimable. Calls while a round is claiming coalesce into one more round. */
  wake(): void {
    if (this.current !== "running") return;
    if (this.round) {
      this.wakeAgain = true;
      return;
    }
    this.round = this.claimUntilFull().finally(() => {
      this.round = null;
    });
  }

  private async claimUntilFull(): Promise<void> {
    do {
      this.wakeAgain = false;
      while (this.current === "running" && !this.full) {
        // A prefetched job takes the free slot: no claim while any waits.
        const next = this.waiting.shift();
        if (next) {
          this.launch(next.job);
          continue;
        }
        let jobs: Job[];
        try {
          jobs = await this.options.claim(this.options.capacity - this.inFlight.size + this.prefetchNow());
        } catch (error) {
          this.options.onClaimFailed(error);
          return;
        }
        if (jobs.length === 0) break;
        if (this.current !== "running" && this.options.release) {
          // stop() began while this claim was out and will not wait for jobs it never saw.
          await this.options.release(jobs, "claimed while stopping");
          break;
        }
        const since = Date.now();
        for (const job of jobs) {
          if (this.full) this.waiting.push({ job, since });
          else this.launch(job);
        }
        this.scheduleWaitCheck();
      }
    } while (this.wakeAgain && this.current === "running");
  }

  /** How many jobs to claim beyond the free slots now: the prefetch, less when jobs run long (see prefetchWithinMs). */
  private prefetchNow(): number {
    const { prefetchWithinMs, capacity } = this.options;
    if (this.prefetch === 0 || prefetchWithinMs === undefined || this.runMs === undefined) return this.prefetch;
    return Math.min(this.prefetch, Math.floor((capacity * prefetchWithinMs) / Math.max(1, this.runMs)));
  }

  private launch(job: Job): void {
    const startedAt = Date.now();
    const done: Promise<void> = this.options
      .run(job)
      .catch((error) => this.options.onRunFailed(error, job))
      .finally(() => {
        const ms = Date.now() - startedAt;
        this.runMs = this.runMs === undefined ? ms : this.runMs + RUN_MS_WEIGHT * (ms - this.runMs);
        this.inFlight.delete(done);
        this.jobFinished();
      });
    this.inFlight.add(done);
  }

  /** Arms one timer for the oldest waiting job's `maxWaitMs` (none when nothing waits or there is no limit). */
  private scheduleWaitCheck(): void {
    const { maxWaitMs } = this.options;
    if (this.waitTimer || maxWaitMs === undefined || this.waiting.length === 0) return;
    const dueIn = Math.max(0, this.waiting[0].since + maxWaitMs - Date.now());
    this.waitTimer = setTimeout(() => {
      this.waitTimer = null;
      this.releaseOverdue();
      this.scheduleWaitCheck();
    }, dueIn);
    this.waitTimer.unref?.();
  }

  /** Hands back the waiting jobs that found no slot within `maxWaitMs`: another process may be idle. */
  private releaseOverdue(): void {
    const cutoff = Date.now() - (this.options.maxWaitMs ?? Infinity);
    const overdue = this.waiting.filter((w) => w.since <= cutoff).map((w) => w.job);
    this.waiting = this.waiting.filter((w) => w.since > cutoff);
    this.handBack(overdue, "prefetched, no slot in time");
  }

  private handBack(jobs: Job[], reason: ReleaseReason): void {
    if (jobs.length === 0 || !this.options.release) return;
    const done: Promise<void> = this.options
      .release(jobs, reason)
      .catch(() => {}) // the owner logs a failed release; the leases expire and the jobs are retaken
      .finally(() => this.releasing.delete(done));
    this.releasing.add(done);
  }

  /** A finished job freed a slot: claim again (another job may be waiting that no event announced). */
  private jobFinished(): void {
    this.wake();
  }

  /**
   * Stops claiming and waits for the claim in flight, if any: after it, `settled()` covers every
   * job this loop started. Running jobs are not waited for here; the owner decides how long they get.
   */
  stop(): Promise<void> {
    if (this.current === "created") this.current = "stopped";
    this.stopped ??= this.stopClaiming();
    return this.stopped;
  }

  private async stopClaiming(): Promise<void> {
    if (this.current !== "running") return;
    this.current = "stopping";
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.round;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    // Prefetched jobs never started: hand them back so another process takes them at once.
    const waiting = this.waiting.map((w) => w.job);
    this.waiting = [];
    this.handBack(waiting, "claimed while stopping");
    await Promise.allSettled([...this.releasing]);
    this.current = "stopped";
  }

  /** Resolves once every job running now has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
