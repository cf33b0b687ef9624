/**
 * Lets many HTTP requests wait for status changes over the process's single change stream: each
 * waiter registers the request id it cares about and is woken by the matching event, instead of
 * every client polling the database. Events carry no document: a woken waiter reads it by `_id`.
 */
import type { RequestEvents } from "./events.ts";

export interface Wait {
  /** Resolves on the next change of the request, or when the time is up (never rejects). */
  changed: Promise<void>;
  cancel(): void;
}

export class StatusWaiter {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;

  constructor(events: RequestEvents) {
    this.unsubscribe = events.subscribe({
      change: (event) => this.notify(String(event.id)),
      // After a stream restart any waiter may have missed its event: wake all to re-read.
      resync: () => {
        for (const id of [...this.waiting.keys()]) this.notify(id);
      },
    });
  }

  /** Register before reading the document, so a change between read and wait is not missed. */
  wait(id: string, timeoutMs: number): Wait {
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const set = this.waiting.get(id) ?? new Set();
    this.waiting.set(id, set);
    set.add(wake);
    const timer = setTimeout(() => cancel(), Math.max(0, timeoutMs));
    const cancel = () => {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
      wake();
    };
    void changed.then(() => cancel());
    return { changed, cancel };
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
