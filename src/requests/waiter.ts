/**
 * Lets many HTTP requests wait for status changes over the process's single change stream: each
 * waiter registers the request id it cares about and is woken by the matching event, instead of
 * every client polling the database. Events carry no document: a woken waiter reads it by `_id`.
 */
import type { RequestEvents } from "./events.ts";
import { isFinal, type RequestStatus } from "./status.ts";

export interface Wait {
  /** Resolves on the next change of the request, or when the time is up (never rejects). */
  changed: Promise<void>;
  /**
   * Once `changed` resolved: the status the latest event heard set (several may arrive before the
   * waiter runs), or undefined when it was woken otherwise (time up, stream resync, an event that
   * set no status): then only a read tells.
   */
  status(): RequestStatus | undefined;
  /**
   * Whether an event has woken it already (synchronously, before `changed`'s callbacks run). A wait
   * woken while its owner was still reading the document heard of a change that read may not show,
   * and it stopped listening then: later events went unheard, so only a new read tells.
   */
  woken(): boolean;
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
    let wokenByEvent = false;
    const waker: Waker = (status) => {
      heard = status;
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
    return { changed, status: () => heard, woken: () => wokenByEvent, cancel };
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

/**
 * Reads a request with `read`; while it is not final, waits for its next change (at most `waitMs`
 * in all) and reads again, so a client holding `wait=` gets the final document the moment it is
 * written. The wait is registered before each read, so no change can slip in between; `abort`
 * (the client went away) ends the wait at once.
 */
export async function readWhenFinal<T extends { status: string }>(
  waiter: Pick<StatusWaiter, "wait">,
  id: string,
  waitMs: number,
  read: () => Promise<T | null>,
  abort?: AbortSignal,
): Promise<T | null> {
  const deadline = Date.now() + waitMs;
  let wait: Wait | null = null;
  const onAbort = () => wait?.cancel();
  abort?.addEventListener("abort", onAbort, { once: true });
  try {
    let doc: T | null = null;
    let reading = true;
    for (;;) {
      const remaining = deadline - Date.now();
      wait = remaining > 0 && !abort?.aborted ? waiter.wait(id, remaining) : null;
      if (reading) doc = await read();
      if (!wait) return reading ? doc : read();
      if (!doc || isFinal(doc.status)) {
        wait.cancel();
        return doc;
      }
      // Woken while the read was out: the event may be newer than the document read, and the events
      // after it found no one listening (running, then completed a millisecond later). Read again.
      const wokenDuringRead: boolean = reading && wait.woken();
      await wait.changed;
      // An event heard while waiting that named a status still unfinished (pending → running)
      // needs no read: keep waiting. Anything else (a final status, time up, a resync) is read.
      const heard = wait.status();
      reading = wokenDuringRead || heard === undefined || isFinal(heard);
    }
  } finally {
    abort?.removeEventListener("abort", onAbort);
  }
}
