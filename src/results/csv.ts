/**
 * Rows → CSV bytes → a sink, one row at a time. The aggregation cursor is read only as fast as
 * the sink accepts bytes (every `add` waits while the pipeline is full), so memory holds a few
 * buffers, never the result.
 *
 * Format (RFC 4180): UTF-8 without BOM, CRLF between records, a header line with the report's
 * column names in order, fields quoted only when they contain a comma, a double quote, CR or LF
 * (quotes doubled inside). Cells:
 *   missing, null, undefined → empty
 *   string                   → as is (any Unicode)
 *   number                   → shortest round-trip decimal (1.5, 1e+21, NaN, Infinity)
 *   boolean                  → true / false
 *   Date                     → ISO 8601 UTC with milliseconds (2001-02-03T04:05:06.007Z)
 *   ObjectId                 → 24 hex digits
 *   Decimal128, Long, Int32, Double (BSON) → their exact decimal text
 *   Binary                   → base64
 *   array, nested document   → compact JSON, nested values by the same rules (dates as ISO
 *                              strings, ObjectIds as hex, Decimal128/Long as strings), so a
 *                              consumer can parse the cell back losslessly: ["Drama","Crime"]
 */
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { stringify, type Stringifier } from "csv-stringify";
import { neutraliseFormula } from "./formula-guard.ts";
import type { CsvSink, CsvTarget, CsvUpload, StoredCsv } from "./sinks/sink.ts";

export const CSV_CONTENT_TYPE = "text/csv; charset=utf-8";

interface BsonLike {
  _bsontype?: string;
  toHexString?: () => string;
  toString(format?: string): string;
}

/** A BSON wrapper value rendered as text, or undefined for anything else. */
function bsonText(value: object): string | undefined {
  const type = (value as BsonLike)._bsontype;
  if (type === undefined) return undefined;
  if (type === "ObjectId" || type === "ObjectID") return (value as BsonLike).toHexString!();
  if (type === "Binary") return (value as BsonLike).toString("base64");
  return (value as BsonLike).toString();
}

/** JSON-ready copy of a nested value, applying the cell rules above inside arrays and documents. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return value;
  const text = bsonText(value);
  if (text !== undefined) return text;
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = plain(inner);
  return out;
}

export function renderCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "bigint":
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? "" : value.toISOString();
      const text = bsonText(value);
      if (text !== undefined) return text;
      return JSON.stringify(plain(value));
    }
    default:
      return String(value);
  }
}

export interface CsvFormatOptions {
  /** Neutralise text cells that a spreadsheet would run as formulas (default true). */
  formulaGuard?: boolean;
}

/** The row's cells in column order; fields the row lacks are empty. */
export function toRecord(row: Record<string, unknown>, columns: readonly string[], options: CsvFormatOptions = {}): string[] {
  const guard = options.formulaGuard !== false;
  const record = new Array<string>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const value = row[columns[i]];
    const cell = renderCell(value);
    record[i] = guard && typeof value === "string" ? neutraliseFormula(cell) : cell;
  }
  return record;
}

/** The stringifier the format above describes (header from `columns`). */
export function csvStringifier(columns: readonly string[], formulaGuard = true): Stringifier {
  return stringify({
    header: true,
    // Records are arrays (toRecord), so the keys are positions; the headers are the column names.
    // Column names are guarded too: a data-defined report's are written by an admin, not by us.
    columns: columns.map((name, i) => ({ key: String(i), header: formulaGuard ? neutraliseFormula(name) : name })),
    record_delimiter: "\r\n",
    // csv-stringify quotes a field containing the whole record delimiter (CRLF) but not a lone CR
    // or LF, which every CSV reader would take as the end of the record.
    quoted_match: /[\r\n]/,
    // Buffers: a few hundred records in, 64 KiB of text out. (A plain `highWaterMark` would
    // apply to the object-mode input too: 65,536 records, ~100 MB of heap, measured.)
    writableHighWaterMark: 256,
    readableHighWaterMark: 64 * 1024,
    // Text out, not a Buffer per record (see coalesce).
    encoding: "utf8",
  });
}

/** A failure while writing the CSV: the attempt fails and the retry policy decides what next. */
export class CsvExportError extends Error {
  override name = "CsvExportError";
  constructor(where: string, cause: unknown) {
    super(`writing the CSV to ${where} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** What the export observed: evidence that it streamed (many writes, waits for the sink). */
export interface CsvStats {
  rows: number;
  bytes: number;
  /** Writes handed to the sink. */
  sinkWrites: number;
  /** Times a row waited because the sink was behind (backpressure reached the cursor). */
  waits: number;
}

/** Bytes handed to the sink per write: large enough that per-write costs vanish, small enough not to matter in memory. */
const SINK_WRITE_BYTES = 64 * 1024;

/**
 * Gathers the stringifier's output (one small chunk per record) into writes of about
 * SINK_WRITE_BYTES, and counts them on the way. Without it every row would be its own write
 * through the storage client's stream stack, which costs more than producing the row.
 */
function coalesce(stats: CsvStats): Transform {
  // The stringifier hands over text (see `encoding` there); joining strings and encoding once per
  // write makes one 64 KiB buffer instead of a few hundred small ones per write, which keeps the
  // process's off-heap garbage (and so its RSS) down.
  let pending = "";
  const emit = (stream: Transform) => {
    const chunk = Buffer.from(pending, "utf8");
    pending = "";
    stats.bytes += chunk.length;
    stats.sinkWrites += 1;
    stream.push(chunk);
  };
  return new Transform({
    decodeStrings: false,
    transform(chunk: string | Buffer, _encoding, callback) {
      pending += typeof chunk === "string" ? chunk : chunk.toString("utf8");
      // Characters, not bytes: a write is 64–256 KiB, whatever the script.
      if (pending.length >= SINK_WRITE_BYTES) emit(this);
      callback();
    },
    flush(callback) {
      if (pending.length > 0) emit(this);
      callback();
    },
  });
}

/**
 * One CSV being written: `add` each row (awaiting it), then `finish` to make the file visible
 * under its final name, or `abort` to leave nothing behind.
 */
export class CsvExport {
  readonly stats: CsvStats = { rows: 0, bytes: 0, sinkWrites: 0, waits: 0 };
  private readonly stringifier: Stringifier;
  private readonly done: Promise<void>;
  private failure: unknown = null;

  private constructor(
    private readonly upload: CsvUpload,
    private readonly columns: readonly string[],
    private readonly format: CsvFormatOptions,
  ) {
    this.stringifier = csvStringifier(columns, format.formulaGuard !== false);
    this.done = pipeline(this.stringifier, coalesce(this.stats), upload.stream as Writable);
    // Remembered so `add` can stop at once; `finish` reports it.
    this.done.catch((error) => {
      this.failure ??= error;
    });
  }

  static async start(sink: CsvSink, target: CsvTarget, format: CsvFormatOptions = {}): Promise<CsvExport> {
    let upload: CsvUpload;
    try {
      upload = await sink.open(target);
    } catch (error) {
      throw new CsvExportError(sink.describe(target), error);
    }
    return new CsvExport(upload, target.columns, format);
  }

  get where(): string {
    return this.upload.where;
  }

  async add(row: Record<string, unknown>): Promise<void> {
    if (this.failure) throw new CsvExportError(this.where, this.failure);
    this.stats.rows += 1;
    if (this.stringifier.write(toRecord(row, this.columns, this.format))) return;
    this.stats.waits += 1;
    await new Promise<void>((resolve) => {
      // Either the sink caught up, or the pipeline failed (then `failure` is set).
      const settle = () => {
        this.stringifier.off("drain", settle);
        this.stringifier.off("close", settle);
        resolve();
      };
      this.stringifier.on("drain", settle);
      this.stringifier.on("close", settle);
    });
    if (this.failure) throw new CsvExportError(this.where, this.failure);
  }

  /**
   * Ends the file, waits until the sink has every byte, then (if the run may still write, per
   * `signal`) publishes it under its final name with the row count.
   */
  async finish(signal?: AbortSignal): Promise<StoredCsv> {
    this.stringifier.end();
    try {
      await this.done;
    } catch (error) {
      throw new CsvExportError(this.where, error);
    }
    signal?.throwIfAborted();
    try {
      return await this.upload.commit({ rows: this.stats.rows, bytes: this.stats.bytes });
    } catch (error) {
      await this.upload.abort().catch(() => {});
      throw new CsvExportError(this.where, error);
    }
  }

  /**
   * Stops writing and removes what this attempt wrote; the final name is never touched. The
   * stream is ended rather than destroyed: the storage client does not cancel an upload request
   * that is waiting for body bytes when its stream is destroyed (the socket would hang until the
   * server gives up), while an ended upload completes under its incomplete/ name and is deleted.
   */
  async abort(reason: unknown = new Error("CSV export aborted")): Promise<void> {
    this.failure ??= reason;
    if (!this.stringifier.writableEnded && !this.stringifier.destroyed) this.stringifier.end();
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
    if (!settled) this.stringifier.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    await this.upload.abort().catch(() => {});
  }
}

/** How long an aborted export may take to wind its upload down before it is cut off. */
const ABORT_GRACE_MS = 30_000;
