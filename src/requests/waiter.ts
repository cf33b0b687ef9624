/**
 * Lets many HTTP requests wait for requests to finish over the process's single change stream:
 * each waiter registers the request id it cares about and is woken by the event that gives it a
 * final status, instead of every client polling the database. Events carry no document: a woken
 * waiter reads it by `_id`.
 */
import type { RequestEvents } from "./events.ts";
import { isFinal } from "./status.ts";

export interface Wait {
  /**
   * Resolves when the request's status became final, or when the time is up, or when the stream
   * restarted and events may have been missed (never rejects). An event naming an unfinished
   * status (pending → running) does not wake it: a waiter wants the end, and that event would
   * only cost a read.
   */
  changed: Promise<void>;
  /** Whether an event (a final status, or a resync) woke it, rather than the time running out or a cancel. */
  woken(): boolean;
  cancel(): void;
}

/** One registered wait. */
type Waker = () => void;

export class StatusWaiter {
  private readonly waiting = new Map<string, Set<Waker>>();
  private readonly unsubscribe: () => void;

  constructor(events: Pick<RequestEvents, "subscribe">) {
    this.unsubscribe = events.subscribe({
      // An event that names no status (it set one the projection could not read) may be the end: wake.
      change: (event) => {
        if (event.status === undefined || isFinal(event.status)) this.notify(String(event.id));
      },
      // After a stream restart any waiter may have missed its event: wake all to re-read.
      resync: () => {
        for (const id of [...this.waiting.keys()]) this.notify(id);
      },
    });
  }

  /**
   * Register before reading (or writing) the document, so a change that lands in between is not
   * missed.
   */
  wait(id: string, timeoutMs: number): Wait {
    let resolve!: () => void;
    const changed = new Promise<void>((r) => {
      resolve = r;
    });
    let wokenByEvent = false;
    const waker: Waker = () => {
      wokenByEvent = true;
      resolve();
    };
    const set = this.waiting.get(id) ?? new Set();
    this.waiting.set(id, set);
    set.add(waker);
    const timer = setTimeout(() => cancel(), Math.max(0, timeoutMs));
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      clearTimeout(timer);
      set.delete(waker);
      if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
      resolve();
    };
    void changed.then(() => cancel());
    return { changed, woken: () => wokenByEvent, cancel };
  }

  private notify(id: string): void {
    const set = this.waiting.get(id);
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  get waiters(): number {
    let count = 0;
    for (const set of this.waiting.values()) count += set.size;
    return count;
  }

  close(): void {
    this.unsubscribe();
    for (const id of [...this.waiting.keys()]) this.notify(id);
  }
}

/**
 * Reads a request with `read`; while it is not final, waits for its final status (at most
 * `waitMs` in all) and reads again, so a client holding `wait=` gets the final document the moment
 * it is written. The wait is registered before each read, so no change can slip in between (a
 * final status heard while the read was out leads to one more read, since that read may be older
 * than the event); `abort` (the client went away) ends the wait at once.
 *
 * `first`, when given, replaces the first read: a document the caller already holds, read or
 * written after the wait was registered (POST with `wait=` writes the request, then waits).
 */
export async function readWhenFinal<T extends { status: string }>(
  waiter: Pick<StatusWaiter, "wait">,
  id: string,
  waitMs: number,
  read: () => Promise<T | null>,
  abort?: AbortSignal,
  first?: { wait: Wait; doc: T },
): Promise<T | null> {
  const deadline = Date.now() + waitMs;
  let wait: Wait | null = first?.wait ?? null;
  const onAbort = () => wait?.cancel();
  abort?.addEventListener("abort", onAbort, { once: true });
  try {
    let doc: T | null = first?.doc ?? null;
    for (let round = 0; ; round++) {
      if (round > 0 || !first) {
        const remaining = deadline - Date.now();
        wait = remaining > 0 && !abort?.aborted ? waiter.wait(id, remaining) : null;
        doc = await read();
      }
      if (!wait || !doc || isFinal(doc.status)) {
        wait?.cancel();
        return doc;
      }
      await wait.changed;
      if (abort?.aborted) return doc;
      // The time is up (its timer may fire a moment before the deadline by the clock): one last read
      // is the answer, not another wait for what is left.
      if (!wait.woken()) return read();
    }
  } finally {
    abort?.removeEventListener("abort", onAbort);
  }
}
