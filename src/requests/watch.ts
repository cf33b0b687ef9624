/**
 * Watches individual requests for the server-sent events route: every connection registers the
 * request it follows, and the process reads all watched requests in one query, once a second
 * (progress, which the change stream does not carry), and as soon as the change stream reports a
 * watched request changed (a status transition). A thousand clients following a hundred requests
 * cost one `find({_id: {$in: [...100 ids]}})` per second, never a poll per client; a request
 * nobody follows any more drops out of the query.
 */
import { ObjectId, type Collection } from "mongodb";
import type { Logger } from "../log.ts";
import type { RequestDocument } from "./document.ts";
import type { RequestEvents } from "./events.ts";

export interface WatchListener {
  /** The request as last read; null once it no longer exists (deleted by retention). */
  update(doc: RequestDocument | null): void;
  /** The process is shutting down: finish the response. */
  end(): void;
}

export class RequestWatch {
  private readonly listeners = new Map<string, Set<WatchListener>>();
  private readonly unsubscribe: () => void;
  private timer: ReturnType<typeof setInterval> | null = null;
  private reading = false;
  private readAgain = false;
  private closed = false;

  constructor(
    private readonly requests: Collection<RequestDocument>,
    events: RequestEvents,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.unsubscribe = events.subscribe({
      change: (event) => {
        if (this.listeners.has(String(event.id))) void this.read();
      },
      // Events may have been missed while the stream was down: read everything watched now.
      resync: () => void this.read(),
    });
  }

  /** Follows one request; the listener hears every read of it until the returned function is called. */
  follow(id: ObjectId, listener: WatchListener): () => void {
    // A connection arriving while the process shuts down: nothing will read for it any more.
    if (this.closed) {
      listener.end();
      return () => {};
    }
    const key = String(id);
    const set = this.listeners.get(key) ?? new Set();
    this.listeners.set(key, set);
    set.add(listener);
    this.timer ??= setInterval(() => void this.read(), this.intervalMs);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(key) === set) this.listeners.delete(key);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** How many connections follow a request (for tests and metrics). */
  get followers(): number {
    let count = 0;
    for (const set of this.listeners.values()) count += set.size;
    return count;
  }

  /** One read of every watched request; calls while a read is out coalesce into one more. */
  private async read(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        const keys = [...this.listeners.keys()];
        if (keys.length === 0) break;
        const docs = await this.requests.find({ _id: { $in: keys.map((key) => new ObjectId(key)) } }).toArray();
        const found = new Map(docs.map((doc) => [String(doc._id), doc]));
        for (const key of keys) {
          for (const listener of [...(this.listeners.get(key) ?? [])]) listener.update(found.get(key) ?? null);
        }
      } while (this.readAgain);
    } catch (error) {
      // The next tick tries again; a watcher only sees its events a little later.
      this.log.warn("watch.read_failed", { error, watched: this.listeners.size });
    } finally {
      this.reading = false;
    }
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const set of [...this.listeners.values()]) for (const listener of [...set]) listener.end();
    this.listeners.clear();
  }
}
