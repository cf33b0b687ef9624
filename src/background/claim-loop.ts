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
 */

export interface ClaimLoopOptions<Job> {
  /** How many jobs may run at once. */
  capacity: number;
  /** The safety-net wake: events missed while no process ran, leases that expired, retries come due. */
  sweepMs: number;
  /** Claims at most `max` jobs (max >= 1); an empty array when nothing is claimable now. */
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
  release?(jobs: Job[]): Promise<void>;
}

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

  constructor(private readonly options: ClaimLoopOptions<Job>) {}

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
        let jobs: Job[];
        try {
          jobs = await this.options.claim(this.options.capacity - this.inFlight.size);
        } catch (error) {
          this.options.onClaimFailed(error);
          return;
        }
        if (jobs.length === 0) break;
        if (this.current !== "running" && this.options.release) {
          // stop() began while this claim was out and will not wait for jobs it never saw.
          await this.options.release(jobs);
          break;
        }
        for (const job of jobs) this.launch(job);
      }
    } while (this.wakeAgain && this.current === "running");
  }

  private launch(job: Job): void {
    const done: Promise<void> = this.options
      .run(job)
      .catch((error) => this.options.onRunFailed(error, job))
      .finally(() => {
        this.inFlight.delete(done);
        this.jobFinished();
      });
    this.inFlight.add(done);
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
    this.current = "stopped";
  }

  /** Resolves once every job running now has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
