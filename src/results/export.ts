/**
 * One file being exported: rows → a format's encoder → a sink, one row at a time. The aggregation
 * cursor is read only as fast as the sink accepts bytes (every `add` waits while the pipeline is
 * full), so memory holds a few buffers, never the result. On the way the bytes are counted and
 * hashed (SHA-256), so the record of the stored file says exactly what it holds.
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Column } from "../reports/define.ts";
import type { StoredFileRecord } from "../requests/document.ts";
import { FormatLimitError, type EncodeOptions, type FileFormat } from "./formats/format.ts";
import type { CsvSink, CsvTarget, CsvUpload } from "./sinks/sink.ts";

/** A failure while storing a file (the sink, the network): the attempt fails and the retry policy decides what next. */
export class ExportError extends Error {
  override name = "ExportError";
  constructor(format: string, where: string, cause: unknown) {
    super(`writing the ${format} file to ${where} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** What the export observed: evidence that it streamed (many writes, waits for the sink). */
export interface ExportStats {
  rows: number;
  bytes: number;
  /** Writes handed to the sink. */
  sinkWrites: number;
  /** Times a row waited because the sink was behind (backpressure reached the cursor). */
  waits: number;
}

/** Counts and hashes the bytes on their way to the sink. */
function measure(stats: ExportStats, hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      stats.bytes += chunk.length;
      stats.sinkWrites += 1;
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

/** A format's limit stays what it is (the request fails with it, no retry); anything else is the store's failure. */
function wrap(format: string, where: string, error: unknown): Error {
  return error instanceof FormatLimitError ? error : new ExportError(format, where, error);
}

export interface ExportTarget extends Omit<CsvTarget, "columns" | "ext"> {
  columns: readonly Column[];
}

/**
 * One file being written: `add` each row (awaiting it), then `finish` to make the file visible
 * under its final name, or `abort` to leave nothing behind.
 */
export class FileExport {
  readonly stats: ExportStats = { rows: 0, bytes: 0, sinkWrites: 0, waits: 0 };
  private readonly hash = createHash("sha256");
  private readonly encoder: Transform;
  private readonly done: Promise<void>;
  private failure: unknown = null;

  private constructor(
    private readonly upload: CsvUpload,
    readonly format: FileFormat,
    columns: readonly Column[],
    options: EncodeOptions,
  ) {
    this.encoder = format.encoder(columns, options);
    this.done = pipeline(this.encoder, measure(this.stats, this.hash), upload.stream);
    // Remembered so `add` can stop at once; `finish` reports it.
    this.done.catch((error) => {
      this.failure ??= error;
    });
  }

  static async start(sink: CsvSink, target: ExportTarget, format: FileFormat, options: EncodeOptions = {}): Promise<FileExport> {
    const sinkTarget: CsvTarget = {
      ...target,
      columns: target.columns.map((column) => column.name),
      ext: format.extension,
      contentType: format.contentType,
    };
    let upload: CsvUpload;
    try {
      upload = await sink.open(sinkTarget);
    } catch (error) {
      throw new ExportError(format.name, sink.describe(sinkTarget), error);
    }
    return new FileExport(upload, format, target.columns, options);
  }

  get where(): string {
    return this.upload.where;
  }

  async add(row: Record<string, unknown>): Promise<void> {
    if (this.failure) throw wrap(this.format.name, this.where, this.failure);
    this.stats.rows += 1;
    if (this.encoder.write(row)) return;
    this.stats.waits += 1;
    await new Promise<void>((resolve) => {
      // Either the sink caught up, or the pipeline failed (then `failure` is set).
      const settle = () => {
        this.encoder.off("drain", settle);
        this.encoder.off("close", settle);
        resolve();
      };
      this.encoder.on("drain", settle);
      this.encoder.on("close", settle);
    });
    if (this.failure) throw wrap(this.format.name, this.where, this.failure);
  }

  /**
   * Ends the file, waits until the sink has every byte, then (if the run may still write, per
   * `signal`) publishes it under its final name with its row count, size and digest.
   */
  async finish(signal?: AbortSignal): Promise<StoredFileRecord> {
    this.encoder.end();
    try {
      await this.done;
    } catch (error) {
      throw wrap(this.format.name, this.where, error);
    }
    signal?.throwIfAborted();
    try {
      const sha256 = this.hash.digest("hex");
      const stored = await this.upload.commit({ rows: this.stats.rows, bytes: this.stats.bytes, sha256 });
      // The store holds what was written, or the file is not published as complete.
      if (stored.bytes !== this.stats.bytes) throw new Error(`the store holds ${stored.bytes} bytes of the ${this.stats.bytes} written`);
      return { format: this.format.name, ...stored, rows: this.stats.rows, sha256 };
    } catch (error) {
      await this.upload.abort().catch(() => {});
      throw new ExportError(this.format.name, this.where, error);
    }
  }

  /**
   * Stops writing and removes what this attempt wrote; the final name is never touched. The
   * stream is ended rather than destroyed: the storage client does not cancel an upload request
   * that is waiting for body bytes when its stream is destroyed (the socket would hang until the
   * server gives up), while an ended upload completes under its incomplete/ name and is deleted.
   * (An encoder that failed has already destroyed the pipeline.)
   */
  async abort(reason: unknown = new Error("export aborted")): Promise<void> {
    this.failure ??= reason;
    if (!this.encoder.writableEnded && !this.encoder.destroyed) this.encoder.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      this.done.then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ABORT_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) this.encoder.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    await this.upload.abort().catch(() => {});
  }
}

/** How long an aborted export may take to wind its upload down before it is cut off. */
const ABORT_GRACE_MS = 30_000;
