/**
 * How many requests a worker should try to claim, from what it has heard: so that it claims in
 * batches when a burst was announced, one at a time when one was, and not at all when nothing was.
 *
 * Every `pending` event names a request that became claimable; its next event (running, cancelled,
 * …) says it is not claimable any more. A claim asks for at most as many requests as are heard of
 * and still pending (and as slots are free). When nothing is heard of, a claim is still made at
 * most once per `sweepMs` (requests inserted while this process was not listening, retries whose
 * backoff ended: events do not announce those), and after a claim that read a full batch (more
 * may be waiting than were announced, whether or not other workers took some of it), after a stream resync, and at start. What this saves is the
 * claim query a worker otherwise runs after every finished job, which at low load finds nothing.
 *
 * Announcements only decide whether and how much to ask; the store's atomic claim decides who
 * gets what, as before.
 */
import { RequestStatus } from "../requests/status.ts";
/** What one claim asked for (see AnnouncedWork.limit). */
export interface ClaimAsked {
  limit: number;
  /** Requests heard of up to this count were known when the claim was made. */
  heardUpTo: number;
  unannounced: boolean;
}

export class AnnouncedWork {
  /** Requests heard to be pending, not yet heard to be claimed or finished, with the order they were heard in. */
  private readonly pending = new Map<string, number>();
  private heardCount = 0;
  /** Claim without an announcement on the next call (start, resync, a claim that read a full batch). */
  private unannounced = true;
  private lastUnannouncedClaim = 0;

  constructor(
    private readonly sweepMs: number,
    /** Beyond this many heard-of requests, stop counting and claim as if unannounced (bounded memory under a large backlog). */
    private readonly maxTracked = 10_000,
  ) {}

  /** A change event: a request's new status. */
  heard(id: string, status: string | undefined): void {
    if (status !== RequestStatus.Pending) {
      this.pending.delete(id);
      return;
    }
    if (this.pending.size >= this.maxTracked) {
      this.unannounced = true;
      return;
    }
    if (!this.pending.has(id)) this.pending.set(id, ++this.heardCount);
  }

  /** Events may have been missed (the stream restarted). */
  resync(): void {
    this.unannounced = true;
  }

  /**
   * How many to ask for, with `free` slots: 0 means do not query at all. Call `claimed` with the
   * answer of the claim made with the returned limit.
   */
  limit(free: number, now = Date.now()): ClaimAsked {
    const unannounced = this.unannounced || now - this.lastUnannouncedClaim >= this.sweepMs;
    if (unannounced) {
      this.unannounced = false;
      this.lastUnannouncedClaim = now;
    }
    const limit = unannounced ? free : Math.min(free, this.pending.size);
    return { limit, heardUpTo: this.heardCount, unannounced };
  }

  /**
   * What a claim made with `asked` (from `limit`) took, and whether it found the claimable requests
   * exhausted (fewer left than it asked for). A claim that lost some of its candidates to other
   * workers also comes back short, but more may wait behind them: only an exhausted claim says that
   * what was heard of is gone.
   */
  claimed(asked: ClaimAsked, ids: string[], exhausted: boolean): void {
    for (const id of ids) this.pending.delete(id);
    if (exhausted) {
      // Nothing more was claimable when the claim ran: what was heard of before it was taken by
      // others (or is not due yet, a retry waiting out its backoff: the sweep finds it).
      for (const [id, order] of this.pending) if (order <= asked.heardUpTo) this.pending.delete(id);
    } else if (asked.unannounced) {
      this.unannounced = true; // more was claimable than it took: more may be waiting than anyone announced
    }
  }

  get tracked(): number {
    return this.pending.size;
  }
}
