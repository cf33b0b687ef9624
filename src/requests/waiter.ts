/**
 * Lets many HTTP requests wait for status changes over the process's single change stream: each
 * waiter registers the request id it cares about and is woken by the matching event, instead of
 * every client polling the database. Events carry no document: a woken waiter reads it by `_id`.
 */
import type { RequestEvents } from "./events.ts";
import type { RequestStatus } from "./status.ts";

export interface Wait {
  /** Resolves on the next change of the request, or when the time is up (never rejects). */
  changed: Promise<void>;
  /**
   * Once `changed` resolved: the status the latest event heard set (several may arrive before the
   * waiter runs), or undefined when it was woken otherwise (time up, stream resync, an event that
   * set no status): then only a read tells.
   */
  status(): RequestStatus | undefined;
  cancel(): void;
}

/** One registered wait: wakes it, recording what woke it. */
type Waker = (status?: RequestStatus) => void;

export class StatusWaiter {
  private readonly waiting = new Map<string, Set<Waker>>();
  private readonly unsubscribe: () => void;

  constructor(events: RequestEvents) {
    this.unsubscribe = events.subscribe({
      change: (event) => this.notify(String(event.id), event.status),
      // After a stream restart any waiter may have missed its event: wake all to re-read.
      resync: () => {
        for (const id of [...this.waiting.keys()]) this.notify(id);
      },
    });
  }

  /** Register before reading the document, so a change between read and wait is not missed. */
  wait(id: string, timeoutMs: number): Wait {
    let resolve!: () => void;
    const changed = new Promise<void>((r) => {
      resolve = r;
    });
    let heard: RequestStatus | undefined;
    const waker: Waker = (status) => {
      heard = status;
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
    return { changed, status: () => heard, cancel };
  }

  private notify(id: string, status?: RequestStatus): void {
    const set = this.waiting.get(id);
    if (!set) return;
    for (const wake of [...set]) wake(status);
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
