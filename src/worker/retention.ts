/**
 * Retention: finished requests older than the configured age are removed with their rows, their
 * CSV files and their idempotency keys. Runs beside each worker on a timer, but one process purges
 * at a time: the sweeper holds a lock document (`report_locks`, by `_id`, with an expiry, so a
 * crashed holder blocks nobody for longer than LOCK_MS). Without it every worker raced for the
 * same batch and removed the same files. Correctness never depends on TTL indexes (which some
 * servers, including the test server, do not apply), nor on the lock: every delete is idempotent.
 */
import type { BackgroundService } from "../background/service.ts";
import { COLLECTIONS, type Database } from "../db.ts";
import type { Logger } from "../log.ts";
import { removeRequests } from "../requests/removal.ts";
import type { RequestStore } from "../requests/store.ts";
import type { CsvSink } from "../results/sinks/sink.ts";
import { DistributedLock, type LockDocument } from "./lock.ts";

const LOCK_NAME = "retention";
/** How long the lock lasts without renewal; it is renewed before each batch. */
const LOCK_MS = 5 * 60_000;
const BATCH_SIZE = 500;

export interface PurgeOptions {
  database: Database;
  store: RequestStore;
  retentionMs: number;
  now?: Date;
  batchSize?: number;
  /** Removes the request's CSV file, when it has one. */
  csvSink?: CsvSink;
  /** Held while purging: renewed before each batch; purging stops if it is lost. */
  lock?: DistributedLock;
}

/**
 * Removes expired requests batch by batch until a batch comes back short; returns how many. Rows
 * and files go first, so a request is never visible without its rows (requests/removal.ts). A
 * request whose file the store failed to remove stays for the next sweep; the sweep stops at such
 * a batch rather than reading it again at once.
 */
export async function purgeExpired(options: PurgeOptions): Promise<number> {
  const now = options.now ?? new Date();
  const before = new Date(now.getTime() - options.retentionMs);
  const batchSize = options.batchSize ?? BATCH_SIZE;
  let removed = 0;
  for (;;) {
    const batch = await options.store.expired(before, batchSize);
    if (batch.length === 0) break;
    const outcome = await removeRequests(options, batch);
    removed += outcome.removed;
    if (outcome.failed.length > 0) throw new RetentionFileError(outcome.failed.length, outcome.failed[0].error, removed);
    if (batch.length < batchSize) break;
    if (options.lock && !(await options.lock.renew())) break;
  }
  return removed;
}

/** The store failed to remove some files: their requests stay for the next sweep. */
export class RetentionFileError extends Error {
  override name = "RetentionFileError";
  constructor(
    readonly kept: number,
    cause: unknown,
    readonly removed: number,
  ) {
    super(`${kept} expired request(s) kept: removing their files failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

export interface RetentionSweeperDeps {
  database: Database;
  store: RequestStore;
  csvSink?: CsvSink;
  retentionMs: number;
  sweepMs: number;
  /** Who holds the lock (the worker's identity), for logs and diagnosis. */
  owner: string;
  log: Logger;
}

/** Purges on a timer (one sweep at a time in this process, one process at a time overall). */
export class RetentionSweeper implements BackgroundService {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sweeping: Promise<unknown> | null = null;
  private stopped = false;
  private readonly lock: DistributedLock;

  constructor(private readonly deps: RetentionSweeperDeps) {
    this.lock = new DistributedLock(deps.database.db.collection<LockDocument>(COLLECTIONS.locks), LOCK_NAME, deps.owner, LOCK_MS);
  }

  /** Nothing when retention is off (RETENTION_MS 0). */
  start(): void {
    if (this.deps.retentionMs <= 0) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep().finally(() => {
        this.sweeping = null;
        this.schedule();
      });
    }, this.deps.sweepMs);
  }

  /** One sweep: purge if this process gets the lock, else leave it to the holder. */
  async sweep(now = new Date()): Promise<number> {
    try {
      if (!(await this.lock.acquire(now))) return 0;
      try {
        const removed = await purgeExpired({ ...this.deps, now, lock: this.lock });
        if (removed > 0) this.deps.log.info("retention.purged", { requests: removed });
        return removed;
      } finally {
        await this.lock.release();
      }
    } catch (error) {
      this.deps.log.warn("retention.failed", { error });
      return 0;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sweeping;
  }
}
