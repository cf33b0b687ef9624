/**
 * One change stream per process on `report_requests`, shared by whoever in the process wants to
 * hear about requests (the worker to wake up, the API to answer `wait=` polls).
 *
 * Events only notify: listeners re-read or re-claim through the store, so a missed or duplicated
 * event costs latency, never correctness. When the stream fails it is reopened from the last
 * resume token (or fresh, if the token is no longer usable) and listeners get a `resync` so they
 * can catch up on anything that happened in between.
 */
import type { ChangeStream, ChangeStreamDocument, Collection, ResumeToken } from "mongodb";
import type { Logger } from "../log.ts";
import type { RequestDocument } from "./document.ts";

export interface RequestEventListener {
  /** A request was inserted or changed; `doc` is its state after the change (when known). */
  change?(doc: RequestDocument): void;
  /** The stream restarted: events may have been missed. */
  resync?(): void;
}

const RETRY_DELAYS_MS = [100, 500, 1000, 2000, 5000];

export class RequestEvents {
  private stream: ChangeStream<RequestDocument> | null = null;
  private resumeToken: ResumeToken | undefined;
  private readonly listeners = new Set<RequestEventListener>();
  private closed = false;
  private failures = 0;
  private reopenTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly requests: Collection<RequestDocument>,
    private readonly log: Logger,
  ) {}

  subscribe(listener: RequestEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Opens the stream. Resolves once the server has accepted it, so no later write is missed. */
  async start(): Promise<void> {
    this.closed = false;
    await this.open();
  }

  private async open(): Promise<void> {
    // Inserts, and updates/replacements (a request may be put back to pending); updateLookup
    // gives the whole document, which both the worker and the waiters need.
    const pipeline = [{ $match: { operationType: { $in: ["insert", "update", "replace"] } } }];
    const stream = this.requests.watch<RequestDocument, ChangeStreamDocument<RequestDocument>>(pipeline, {
      fullDocument: "updateLookup",
      ...(this.resumeToken ? { resumeAfter: this.resumeToken } : {}),
    });
    this.stream = stream;
    stream.on("change", (event) => {
      this.failures = 0;
      this.resumeToken = event._id;
      const doc = "fullDocument" in event ? event.fullDocument : undefined;
      if (!doc) return;
      for (const listener of this.listeners) listener.change?.(doc);
    });
    stream.on("error", (error) => this.onError(stream, error));
    // The server-side cursor is opened asynchronously; "init" fires when the server has answered
    // the aggregate, from which point no write is missed. The timeout only guards start-up.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      stream.once("init", () => {
        this.failures = 0; // the server accepted the stream (and the resume token)
        done();
      });
      stream.once("error", done);
    });
  }

  private onError(stream: ChangeStream<RequestDocument>, error: unknown): void {
    if (this.closed || stream !== this.stream) return;
    this.log.warn("change_stream.error", { error });
    this.stream = null;
    void stream.close().catch(() => {});
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    const delay = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)];
    this.failures += 1;
    // After a few failures the token itself may be the problem (for example, trimmed from the
    // oplog): start fresh and let listeners resync.
    if (this.failures > 3) this.resumeToken = undefined;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      if (this.closed) return;
      this.open().then(
        () => {
          this.log.info("change_stream.reopened", { resumed: this.resumeToken !== undefined });
          for (const listener of this.listeners) listener.resync?.();
        },
        () => this.scheduleReopen(),
      );
    }, delay);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    const stream = this.stream;
    this.stream = null;
    await stream?.close().catch(() => {});
  }
}
