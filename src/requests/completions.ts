/**
 * Writes jobs' completions in bulk without making any of them wait for a timer (group commit):
 * a completion that finds no write in flight goes out at once, alone; those that arrive while a
 * write is in flight are gathered and go out together, in one bulk write, as soon as it returns.
 * Under load (many jobs finishing close together) completions share round trips; at low load each
 * is written the moment it is ready, as before.
 */
import type { ReportResult } from "./document.ts";
import type { Claim, RequestStore, RunRecord } from "./store.ts";

interface Waiting {
  claim: Claim;
  result: ReportResult;
  record?: RunRecord;
  resolve(applied: boolean): void;
  reject(error: unknown): void;
}

export class CompletionWriter {
  private waiting: Waiting[] = [];
  private writing = false;
  /** Bulk writes sent and completions written (bench/round-trips.ts reads the ratio from logs). */
  writes = 0;
  written = 0;

  constructor(
    private readonly store: Pick<RequestStore, "complete" | "completeMany">,
    /** At most this many completions in one write (each carries a small result). */
    private readonly maxBatch = 100,
  ) {}

  /** Resolves true when the completion applied, false when the lease was lost (see RequestStore.complete). */
  complete(claim: Claim, result: ReportResult, record?: RunRecord): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ claim, result, record, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
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
