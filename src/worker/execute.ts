/**
 * Runs one report for one claimed request: validate, aggregate as a cursor, write rows in chunks
 * and/or stream them into a CSV file (by the request's output). Knows nothing about leases or
 * retries; the worker decides what a failure means.
 */
import type { Collection, Db, Document, ObjectId, ReadPreference } from "mongodb";
import type { OutputKind, ReportResult } from "../requests/document.ts";
import type { ReportDefinition } from "../reports/define.ts";
import { usableAsDeclared } from "../reports/data-indexes.ts";
import { ChunkWriter, deleteChunks, type ChunkDocument } from "../results/chunks.ts";
import { withoutHiddenFields } from "../results/hidden-fields.ts";
import { CsvExport, type CsvStats } from "../results/csv.ts";
import { rowRounder } from "../results/precision.ts";
import type { CsvSink, StoredCsv } from "../results/sinks/sink.ts";
import type { ProgressTracker } from "./progress.ts";

export interface ExecuteOptions {
  db: Db;
  results: Collection<ChunkDocument>;
  /** An ObjectId: stored files are named by it (results/locations.ts). */
  requestId: ObjectId;
  attempt: number;
  rowsPerChunk: number;
  maxTimeMS: number;
  /** Where the aggregation reads (REPORT_READ_PREFERENCE; the primary when absent). */
  readPreference?: ReadPreference;
  signal: AbortSignal;
  /** json (default): rows in chunks; csv: a CSV file only; both. */
  output?: OutputKind;
  /** Required for csv and both. */
  csvSink?: CsvSink;
  /** Neutralise formula-like text cells in the CSV (default true; see results/csv.ts). */
  csvFormulaGuard?: boolean;
  /** Field names removed from every row at any depth before it is written (HIDDEN_FIELDS). */
  hiddenFields?: readonly string[];
  /** Told how the CSV export went (rows, bytes, sink writes, backpressure waits). */
  onCsvStats?: (stats: CsvStats) => void;
  /** A result of one chunk up to this many bytes comes back in `rows` instead of being written (0: always written). */
  inlineRowsMaxBytes?: number;
  /** Told the phase, each row and the CSV bytes as they happen (written by the lease keeper). */
  progress?: ProgressTracker;
}

export async function executeReport(report: ReportDefinition<any>, params: unknown, options: ExecuteOptions): Promise<ReportResult> {
  const output = options.output ?? "json";
  const columns = report.columns.map((c) => c.name);
  if (output !== "json" && !options.csvSink) throw new Error(`output ${output} needs a CSV sink and none is configured`);
  // Rows of earlier attempts are never read again (reads go by attempt), so clear them first
  // (a first attempt has none: skip the round trip).
  if (output !== "csv" && options.attempt > 1) await deleteChunks(options.results, options.requestId, options.attempt);
  const pipeline: Document[] = report.pipeline(params);
  const hint = report.hint && (await hasPlainIndex(options.db, report.collection, report.hint)) ? { hint: report.hint } : {};
  const cursor = options.db.collection(report.collection).aggregate(pipeline, {
    ...hint,
    allowDiskUse: true,
    maxTimeMS: report.maxTimeMS ?? options.maxTimeMS,
    batchSize: Math.min(options.rowsPerChunk, 1000),
    ...(options.readPreference ? { readPreference: options.readPreference } : {}),
    // A blocking $group or $sort does its work inside the initial aggregate command, before any
    // cursor exists to kill. On abort (cancel, time-out, lost lease, shutdown) the driver closes
    // the connection that carries the command, and MongoDB interrupts an operation whose client
    // disconnected, so the server stops instead of working on until maxTimeMS while another
    // attempt starts the same aggregation. (Later batches: the driver closes the cursor.)
    signal: options.signal,
  });
  const writer =
    output === "csv"
      ? null
      : new ChunkWriter(options.results, { requestId: options.requestId, attempt: options.attempt, rowsPerChunk: options.rowsPerChunk });
  let csv: CsvExport | null = null;
  let stored: StoredCsv | undefined;
  let inlineRows: Document[] | undefined;
  // Closing the cursor kills it on the server (killCursors), so an aborted report stops using the
  // database between batches too.
  const onAbort = () => void cursor.close().catch(() => {});
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (output !== "json") {
      const target = { requestId: options.requestId, reportName: report.name, attempt: options.attempt, columns };
      csv = await CsvExport.start(options.csvSink!, target, { formulaGuard: options.csvFormulaGuard });
    }
    const progress = options.progress;
    // Numbers of columns that declare a precision are rounded in the row itself, so every output shows one value.
    const round = rowRounder(report.columns);
    progress?.phase("aggregating");
    const hidden = new Set(options.hiddenFields ?? []);
    for await (const found of cursor) {
      options.signal.throwIfAborted();
      const row = withoutHiddenFields(found, hidden);
      round?.(row);
      if (writer) await writer.add(row);
      if (csv) await csv.add(row);
      progress?.rowWritten();
      if (csv) progress?.bytesWritten(csv.stats.bytes);
    }
    options.signal.throwIfAborted();
    inlineRows = await writer?.finish(options.inlineRowsMaxBytes ?? 0);
    if (csv) progress?.phase("uploading");
    stored = await csv?.finish(options.signal);
    if (csv) progress?.bytesWritten(csv.stats.bytes);
    if (csv) options.onCsvStats?.(csv.stats);
  } catch (error) {
    // A failed or aborted attempt leaves no CSV behind (the final name is only written on finish).
    await csv?.abort(error);
    throw error;
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    await cursor.close().catch(() => {});
  }
  return {
    row_count: writer ? writer.rowCount : csv!.stats.rows,
    columns,
    attempt: options.attempt,
    rows_per_chunk: options.rowsPerChunk,
    ...(stored ? { csv: stored } : {}),
    ...(inlineRows ? { rows: inlineRows } : {}),
  };
}

/** Whether `collection` has a plain index (not partial, sparse or collated) with exactly `key`: one round trip. */
async function hasPlainIndex(db: Db, collection: string, key: Record<string, 1 | -1>): Promise<boolean> {
  const wanted = JSON.stringify(Object.entries(key));
  try {
    const indexes = await db.collection(collection).listIndexes().toArray();
    return indexes.some((index) => JSON.stringify(Object.entries(index.key)) === wanted && usableAsDeclared(index));
  } catch {
    return false; // no collection yet: nothing to hint
  }
}
