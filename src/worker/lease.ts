/**
 * Keeps a claim alive while its job runs. If a renewal finds the lease gone (it expired and
 * another worker took the job, or the request was cancelled), the job's AbortSignal fires so the
 * run stops instead of computing a result nobody may write.
 */
import type { Logger } from "../log.ts";
import type { Claim, RequestStore } from "../requests/store.ts";

export class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly store: RequestStore,
    private readonly claim: Claim,
    private readonly leaseMs: number,
    heartbeatMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.renew(), heartbeatMs);
  }

  /** Fires when the lease is lost or the keeper is stopped with a reason. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async renew(): Promise<void> {
    try {
      const held = await this.store.renew(this.claim, this.leaseMs);
      if (!held) {
        this.log.warn("lease.lost", { request_id: this.claim.id, attempt: this.claim.attempt });
        this.abort(new LeaseLostError());
      }
    } catch (error) {
      // A failed renewal is not a lost lease: the database may be briefly unreachable. The lease
      // still has two heartbeats of slack; if it really expires, the fenced writes will say so.
      this.log.warn("lease.renew_failed", { request_id: this.claim.id, error });
    }
  }

  abort(reason: Error): void {
    this.stop();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor() {
    super("the lease on this request was lost; another attempt owns it now");
  }
}
