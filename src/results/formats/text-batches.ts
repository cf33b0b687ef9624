/**
 * Text gathered into writes of about WRITE_BYTES for a text format's encoder. Joining strings and
 * encoding once per write makes one 64 KiB buffer instead of one small buffer per row, which keeps
 * both the per-write cost and the process's off-heap garbage (its RSS) down.
 */
import { WRITE_BYTES } from "./format.ts";

export class TextBatches {
  private pending = "";

  constructor(private readonly push: (chunk: Buffer) => void) {}

  /** Adds text; hands on a write once about WRITE_BYTES characters are waiting. */
  add(text: string): void {
    this.pending += text;
    // Characters, not bytes: a write is 64–256 KiB, whatever the script.
    if (this.pending.length >= WRITE_BYTES) this.flush();
  }

  /** Hands on whatever is waiting. */
  flush(): void {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(this.pending, "utf8");
    this.pending = "";
    this.push(chunk);
  }
}
