/**
 * One change stream per process on `report_requests`, shared by whoever in the process wants to
 * hear about requests (the worker to wake up, the API to answer `wait=` polls).
 *
 * The server filters and trims the stream: only inserts, replacements, and updates that set
 * `status` reach the process, each projected down to id, operation and status. Lease heartbeats
 * and progress writes do not set `status`, so they cause no delivery at all; no event carries the
 * document (no `updateLookup`: on MongoDB that is a lookup per event per stream). Whoever needs
 * the document reads it by `_id`.
 *
 * Events only notify: listeners re-read or re-claim through the store, so a missed or duplicated
 * event costs latency, never correctness. The stream is reopened whenever it stops: after an
 * error the driver could not resume, and after it closes by itself (an `invalidate`, when the
 * collection is dropped or renamed, closes a stream without any error). It reopens after its last
 * resume token (`startAfter`, which also accepts an invalidate's token), or fresh if the token is
 * no longer usable; listeners then get a `resync` so they can catch up.
 */
import type { ChangeStream, Collection, Document, ObjectId, ResumeToken } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Logger } from "../log.ts";
import type { RequestDocument } from "./document.ts";
import { RequestStatus } from "./status.ts";

export type RequestOperation = "insert" | "update" | "replace";

/** What a listener hears: which request, how it changed, and its new status when the change set one. */
export interface RequestChange {
  id: ObjectId;
  operation: RequestOperation;
  status?: RequestStatus;
}

export interface RequestEventListener {
  /** A request was inserted, replaced, or its status changed. */
  change?(event: RequestChange): void;
  /** The stream restarted: events may have been missed. */
  resync?(): void;
}

/** The event as it leaves the server after `PIPELINE`. */
interface ProjectedEvent {
  _id: ResumeToken;
  operationType: RequestOperation | "invalidate";
  documentKey?: { _id: ObjectId };
  status?: RequestStatus;
}

/** Which changes a process's stream carries (every status change when empty). */
export interface StreamFilter {
  /** Only updates that set one of these statuses. */
  statuses?: readonly RequestStatus[];
  /**
   * Leave out the claims this worker made (updates to `running` whose new lease names it): the
   * worker knows its own claims from their answers, and on MongoDB every event is matched and sent
   * once per stream. A claim whose lease the server records field by field (a lease retaken from
   * an expired one may be, as `lease.owner`) does not match here and is delivered as before.
   */
  notClaimedBy?: string;
}

/**
 * Server-side filter and projection. `invalidate` is let through explicitly: its token is the one
 * a new stream must `startAfter` (resuming after the drop itself would meet the drop again).
 */
export function pipelineFor(filter: StreamFilter = {}): Document[] {
  const { statuses, notClaimedBy } = filter;
  const update: Document = {
    operationType: "update",
    "updateDescription.updatedFields.status": statuses ? { $in: [...statuses] } : { $exists: true },
  };
  return [
    {
      $match: {
        $or: [
          { operationType: { $in: ["insert", "replace", "invalidate"] } },
          notClaimedBy === undefined
            ? update
            : {
                ...update,
                $nor: [
                  {
                    "updateDescription.updatedFields.status": RequestStatus.Running,
                    "updateDescription.updatedFields.lease.owner": notClaimedBy,
                  },
                ],
              },
        ],
      },
    },
    PROJECTION,
  ];
}

const PROJECTION: Document = {
  $project: {
    operationType: 1,
    documentKey: 1,
    status: { $ifNull: ["$updateDescription.updatedFields.status", "$fullDocument.status"] },
  },
};

/** Every status change: what a process serving clients (waits, server-sent events) listens to. */
export const PIPELINE: Document[] = pipelineFor();

const RETRY_DELAYS_MS = [100, 500, 1000, 2000, 5000];
/** The server answers a change stream's aggregate in milliseconds; this only bounds a start-up against a server that sends no resume token. */
const OPEN_TIMEOUT_MS = 10_000;
/** Resume tokens the server will never accept again: start afresh instead of retrying them. */
const TOKEN_UNUSABLE_CODES = new Set([260 /* InvalidResumeToken */, 280 /* ChangeStreamFatalError */, 286 /* ChangeStreamHistoryLost */]);

export class RequestEvents {
  private stream: ChangeStream<RequestDocument, ProjectedEvent> | null = null;
  private resumeToken?: ResumeToken;
  private readonly listeners = new Set<RequestEventListener>();
  private closed = false;
  private failures = 0;
  private reopenTimer: ReturnType<typeof setTimeout> | null = null;
  /** Change events handed to listeners since start (one per event, however many listeners): the fan-out figure. */
  delivered = 0;
  /** Streams opened since start (1 + reopens). */
  opened = 0;

  private readonly pipeline: Document[];

  /**
   * `filter`: the changes this process needs to hear (every status change when absent). A process
   * that only runs jobs need not hear them finish, nor hear of its own claims: on MongoDB every
   * event is matched and sent once per stream, so each one a stream filters out is work saved on
   * the server, the wire and the client, once per job per process.
   */
  constructor(
    private readonly requests: Collection<RequestDocument>,
    private readonly log: Logger,
    filter?: StreamFilter,
  ) {
    this.pipeline = pipelineFor(filter);
  }

  subscribe(listener: RequestEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Opens the stream. Resolves once the server has answered it (its first resume token), so no
   * later write is missed. Never rejects: a stream that fails is retried in the background.
   */
  async start(): Promise<void> {
    this.closed = false;
    await this.open();
  }

  private async open(): Promise<ChangeStream<RequestDocument, ProjectedEvent>> {
    // startAfter (MongoDB 4.2+) accepts every token, including an invalidate's, where resumeAfter refuses the latter.
    const stream = this.requests.watch<RequestDocument, ProjectedEvent>(
      this.pipeline,
      this.resumeToken ? { startAfter: this.resumeToken } : {},
    );
    this.stream = stream;
    this.opened += 1;
    // The driver emits resumeTokenChanged when the server answers the aggregate (the
    // postBatchResumeToken of an empty first batch) and after every batch or event since; it
    // never forwards the cursor's `init`, so that is what start-up waits for.
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn("change_stream.no_resume_token", { waited_ms: OPEN_TIMEOUT_MS });
        resolve(false);
      }, OPEN_TIMEOUT_MS);
      const settle = (accepted: boolean) => {
        clearTimeout(timer);
        resolve(accepted);
      };
      stream.once("resumeTokenChanged", () => settle(true));
      stream.once("error", () => settle(false));
      stream.once("close", () => settle(false));
    });
    stream.on("resumeTokenChanged", (token) => {
      if (stream === this.stream) this.resumeToken = token;
    });
    stream.on("change", (event) => this.onChange(stream, event));
    stream.on("error", (error) => this.onStopped(stream, error));
    stream.on("close", () => this.onStopped(stream));
    stream.on("end", () => this.onStopped(stream));
    if (await answered) this.failures = 0; // the server accepted the stream (and the token it resumed from)
    return stream;
  }

  private onChange(stream: ChangeStream<RequestDocument, ProjectedEvent>, event: ProjectedEvent): void {
    if (stream !== this.stream) return;
    this.resumeToken = event._id;
    const id = event.documentKey?._id;
    if (event.operationType === "invalidate" || id === undefined) return; // the stream closes next and is reopened
    this.delivered += 1;
    const change: RequestChange = { id, operation: event.operationType, ...(event.status ? { status: event.status } : {}) };
    for (const listener of this.listeners) listener.change?.(change);
  }

  /** The stream stopped (error, invalidate, or closed under us): reopen it unless we are closing. */
  private onStopped(stream: ChangeStream<RequestDocument, ProjectedEvent>, error?: unknown): void {
    if (this.closed || stream !== this.stream) return;
    this.stream = null;
    if (error instanceof MongoServerError && error.code !== undefined && TOKEN_UNUSABLE_CODES.has(Number(error.code))) {
      this.resumeToken = undefined;
    }
    if (error) this.log.warn("change_stream.error", { error, resumable: this.resumeToken !== undefined });
    else this.log.info("change_stream.closed", { resumable: this.resumeToken !== undefined });
    // The driver may be resuming this stream itself (it closes the old cursor first, which is the
    // `close` heard here): without its change listeners, a cursor it opens after close() stays idle.
    stream.removeAllListeners("change");
    void stream.close().catch(() => {});
    this.scheduleReopen(error === undefined);
  }

  private scheduleReopen(immediately: boolean): void {
    const delay = immediately && this.failures === 0 ? 0 : RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)];
    this.failures += 1;
    // After a few failures the token itself may be the problem: start fresh and let listeners resync.
    if (this.failures > 3) this.resumeToken = undefined;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      if (this.closed) return;
      // If this stream fails too, its own error/close handler schedules the next try.
      void this.open().then((stream) => {
        if (stream !== this.stream) return;
        this.log.info("change_stream.reopened", { resumed: this.resumeToken !== undefined, opened: this.opened });
        for (const listener of this.listeners) listener.resync?.();
      });
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
