/**
 * Writes jobs' completions in bulk (group commit). A completion that finds no write in flight goes
 * out at once, alone, unless other jobs of this worker are still running: then it waits for them,
 * at most `gatherMs`, and they go out together. Completions that arrive while a write is in flight
 * are gathered and go out in one bulk write as soon as it returns.
 *
 * Why wait at all: under a backlog a worker's slots start together (one batch claim fills them),
 * so they finish within a few milliseconds of each other; written one by one they cost a round
 * trip each, gathered one for all (graphile-worker's `completeJobBatchDelay` does the same). A
 * lone job, the latency case, never waits: nothing else is running. A job finishing beside long
 * ones waits `gatherMs` at most and is then written without them.
 */
import type { ReportResult } from "./document.ts";
import type { Claim, RequestStore, RunRecord } from "./store.ts";

interface Waiting {
  claim: Claim;
  result: ReportResult;
  record?: RunRecord;
  /** Told once the completion no longer waits to gather (see complete). */
  onDispatched?: () => void;
  resolve(applied: boolean): void;
  reject(error: unknown): void;
}

export interface CompletionWriterOptions {
  /** At most this many completions in one write (each carries a small result). */
  maxBatch?: number;
  /** How long a completion may wait for the worker's other running jobs (COMPLETION_BATCH_MS); 0: never waits. */
  gatherMs?: number;
  /** How many of the worker's jobs are running now, those waiting here included. */
  running?: () => number;
}

export class CompletionWriter {
  private waiting: Waiting[] = [];
  private writing = false;
  private gatherTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly maxBatch: number;
  private readonly gatherMs: number;
  private readonly running: () => number;
  /** Bulk writes sent and completions written (bench/round-trips.ts reads the ratio from logs). */
  writes = 0;
  written = 0;

  constructor(
    private readonly store: Pick<RequestStore, "complete" | "completeMany">,
    options: CompletionWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 100;
    this.gatherMs = options.gatherMs ?? 0;
    this.running = options.running ?? (() => 0);
  }

  /**
   * Resolves true when the completion applied, false when the lease was lost (see
   * RequestStore.complete). `onDispatched` is called once the completion is on its way: in the
   * write going out now, or queued behind the write in flight (it goes in the next one, with no
   * further wait). Not while it waits `gatherMs` for the worker's running jobs: a job that frees
   * its slot then (Worker.launch) would start another, and the gather would wait for that one too.
   */
  complete(claim: Claim, result: ReportResult, record?: RunRecord, onDispatched?: () => void): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ claim, result, record, onDispatched, resolve, reject });
      if (this.writing) onDispatched?.();
      this.writeIfReady();
    });
  }

  /** A job of the worker ended without a completion (failed, released, cancelled): those waiting may not need to any more. */
  jobEnded(): void {
    if (this.waiting.length > 0) this.writeIfReady();
  }

  /** Writes now unless a write is in flight (it takes these next) or running siblings are worth waiting for. */
  private writeIfReady(): void {
    if (this.writing) return;
    const othersRunning = this.running() > this.waiting.length;
    if (othersRunning && this.gatherMs > 0 && this.waiting.length < this.maxBatch) {
      this.gatherTimer ??= setTimeout(() => {
        this.gatherTimer = null;
        if (!this.writing && this.waiting.length > 0) void this.drain();
      }, this.gatherMs);
      return;
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.gatherTimer) clearTimeout(this.gatherTimer);
    this.gatherTimer = null;
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        for (const item of batch) item.onDispatched?.();
        this.writes += 1;
        this.written += batch.length;
        try {
          const applied =
            batch.length === 1
              ? [await this.store.complete(batch[0].claim, batch[0].result, undefined, batch[0].record)]
              : await this.store.completeMany(batch.map(({ claim, result, record }) => ({ claim, result, record })));
          batch.forEach((item, i) => item.resolve(applied[i]));
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
