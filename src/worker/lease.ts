/**
 * Keeps a claim alive while its job runs. If a renewal finds the lease gone (it expired and
 * another worker took the job, or the request was cancelled), the job's AbortSignal fires so the
 * run stops instead of computing a result nobody may write.
 *
 * The same fenced write carries the job's progress: the keeper ticks every `progressMs` and
 * writes when the heartbeat is due or the progress moved, never two writes at once. The write
 * does not touch `status`, so the change-stream filter lets it wake nobody.
 *
 * A renewal still unanswered when the lease it would extend runs out is abandoned (its connection
 * closed, see RequestStore.renew) so the next tick can send another: a connection stuck behind a
 * slow operation must not hold the heartbeat.
 */
import type { Logger } from "../log.ts";
import type { Claim, RequestStore } from "../requests/store.ts";
import type { ProgressTracker } from "./progress.ts";

export interface KeeperProgress {
  tracker: ProgressTracker;
  /** At most one progress write per this period (1 s by default; see PROGRESS_INTERVAL_MS). */
  intervalMs: number;
}

export class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setInterval> | null = null;
  private writing = false;
  private lastRenewal: number;
  /** When the lease this keeper last secured runs out (the claim's, until a renewal succeeds). */
  private heldUntil: number;
  private renewal: AbortController | null = null;
  private stopped = false;
  private writtenChanges = -1;

  constructor(
    private readonly store: RequestStore,
    private readonly claim: Claim,
    private readonly leaseMs: number,
    private readonly heartbeatMs: number,
    private readonly log: Logger,
    private readonly progress?: KeeperProgress,
    /** When the lease was last secured (the claim): a job that waited for its slot renews sooner. */
    securedAt = Date.now(),
  ) {
    this.lastRenewal = securedAt;
    this.heldUntil = securedAt + leaseMs;
    const tickMs = progress ? Math.min(heartbeatMs, progress.intervalMs) : heartbeatMs;
    this.timer = setInterval(() => void this.tick(), tickMs);
  }

  private async tick(): Promise<void> {
    if (this.writing) return; // a slow write is still out: never stack another behind it
    const changes = this.progress?.tracker.changes ?? -1;
    const heartbeatDue = Date.now() - this.lastRenewal >= this.heartbeatMs;
    if (!heartbeatDue && changes === this.writtenChanges) return;
    this.writing = true;
    try {
      await this.renew();
      this.writtenChanges = changes;
    } finally {
      this.writing = false;
    }
  }

  /** Fires when the lease is lost or the keeper is stopped with a reason. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async renew(): Promise<void> {
    const inFlight = new AbortController();
    this.renewal = inFlight;
    const now = new Date();
    const patienceMs = Math.max(this.heartbeatMs, this.heldUntil - now.getTime());
    const deadline = setTimeout(() => inFlight.abort(new Error(`no answer within ${patienceMs} ms`)), patienceMs);
    try {
      // The server gives up first (at most a heartbeat, and before our patience ends) and says so
      // on the same connection; the signal, which closes the connection, is the last resort for a
      // server that does not answer at all (see RequestStore.renew).
      const serverLimitMs = Math.max(1, Math.min(this.heartbeatMs, Math.floor(patienceMs * 0.8)));
      const held = await this.store.renew(this.claim, this.leaseMs, now, this.progress?.tracker.snapshot(), inFlight.signal, serverLimitMs);
      this.lastRenewal = Date.now();
      if (held) this.heldUntil = now.getTime() + this.leaseMs;
      else if (!this.stopped) {
        this.log.warn("lease.lost", { request_id: this.claim.id, attempt: this.claim.attempt });
        this.abort(new LeaseLostError());
      }
    } catch (error) {
      // A failed renewal is not a lost lease: the database may be briefly unreachable. The lease
      // still has two heartbeats of slack; if it really expires, the fenced writes will say so.
      if (!this.stopped) this.log.warn("lease.renew_failed", { request_id: this.claim.id, error: inFlight.signal.reason ?? error });
    } finally {
      clearTimeout(deadline);
      this.renewal = null;
    }
  }

  abort(reason: Error): void {
    this.stop();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // The job has ended: a renewal in flight has nothing left to keep.
    this.renewal?.abort(new Error("the job ended"));
  }
}

export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor() {
    super("the lease on this request was lost; another attempt owns it now");
  }
}
