/**
 * How far a running job has got, kept in memory by the job and written with the lease heartbeat
 * (see lease.ts). Counting a row is a field increment: the hot loop never touches the database.
 */
import type { ProgressPhase, RequestProgress } from "../requests/document.ts";

export class ProgressTracker {
  private current: ProgressPhase = "queued";
  private phaseStartedAt: Date;
  private rows = 0;
  private bytes: number | undefined;
  /** Bumped on every change, so the keeper can skip a write when nothing moved. */
  private version = 0;

  constructor(now = new Date()) {
    this.phaseStartedAt = now;
  }

  phase(phase: ProgressPhase, now = new Date()): void {
    if (phase === this.current) return;
    this.current = phase;
    this.phaseStartedAt = now;
    this.version += 1;
  }

  /** One row written (to chunks and/or the CSV); the first one moves the job to `writing`. */
  rowWritten(): void {
    if (this.current === "aggregating" || this.current === "queued") this.phase("writing");
    this.rows += 1;
    this.version += 1;
  }

  /** CSV bytes handed to the sink so far (only CSV outputs report bytes). */
  bytesWritten(bytes: number): void {
    if (bytes === this.bytes) return;
    this.bytes = bytes;
    this.version += 1;
  }

  /** A change counter: equal values mean equal snapshots (apart from the time in phase). */
  get changes(): number {
    return this.version;
  }

  snapshot(now = new Date()): RequestProgress {
    return {
      phase: this.current,
      rows: this.rows,
      ...(this.bytes === undefined ? {} : { bytes: this.bytes }),
      phase_started_at: this.phaseStartedAt,
      phase_ms: Math.max(0, now.getTime() - this.phaseStartedAt.getTime()),
      updated_at: now,
    };
  }
}
