/**
 * Runs one report for one claimed request: validate, aggregate as a cursor, write rows in chunks
 * and/or stream them into one file per format (by the request's output, see requests/output.ts). Knows nothing about leases or
 * retries; the worker decides what a failure means.
 */
import type { Collection, Db, Document, ObjectId, ReadPreference } from "mongodb";
import type { ReportResult, StoredFileRecord } from "../requests/document.ts";
import { outputPlan, type OutputKind } from "../requests/output.ts";
import type { ReportDefinition } from "../reports/define.ts";
import { usableAsDeclared } from "../reports/data-indexes.ts";
import { ChunkWriter, deleteChunks, type ChunkDocument } from "../results/chunks.ts";
import { FileExport, type ExportStats } from "../results/export.ts";
import { FILE_FORMATS } from "../results/formats/all.ts";
import { rowShaper } from "../results/row-shape.ts";
import type { CsvSink } from "../results/sinks/sink.ts";
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
  /** json (default): rows in chunks; a format: that file only; both; or a list (requests/output.ts). */
  output?: OutputKind;
  /** Where files go: required for any output with a file. */
  csvSink?: CsvSink;
  /** Neutralise formula-like text cells in CSV and XLSX (default true; see results/csv.ts). */
  csvFormulaGuard?: boolean;
  /** Field names removed from every row at any depth before it is written (HIDDEN_FIELDS). */
  hiddenFields?: readonly string[];
  /** Told how each file's export went (rows, bytes, sink writes, backpressure waits). */
  onExportStats?: (format: string, stats: ExportStats) => void;
  /** A result of one chunk up to this many bytes comes back in `rows` instead of being written (0: always written). */
  inlineRowsMaxBytes?: number;
  /** Told the phase, each row and the file bytes as they happen (written by the lease keeper). */
  progress?: ProgressTracker;
}

export async function executeReport(report: ReportDefinition<any>, params: unknown, options: ExecuteOptions): Promise<ReportResult> {
  const plan = outputPlan(options.output);
  const columns = report.columns.map((c) => c.name);
  if (plan.formats.length > 0 && !options.csvSink) {
    throw new Error(`output ${JSON.stringify(options.output)} needs a file sink and none is configured`);
  }
  // Rows of earlier attempts are never read again (reads go by attempt), so clear them first
  // (a first attempt has none: skip the round trip).
  if (plan.rows && options.attempt > 1) await deleteChunks(options.results, options.requestId, options.attempt);
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
  const writer = plan.rows
    ? new ChunkWriter(options.results, { requestId: options.requestId, attempt: options.attempt, rowsPerChunk: options.rowsPerChunk })
    : null;
  const exports: FileExport[] = [];
  const stored: StoredFileRecord[] = [];
  let rows = 0;
  const bytes = () => exports.reduce((sum, file) => sum + file.stats.bytes, 0);
  let inlineRows: Document[] | undefined;
  // Closing the cursor kills it on the server (killCursors), so an aborted report stops using the
  // database between batches too.
  const onAbort = () => void cursor.close().catch(() => {});
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const target = { requestId: options.requestId, reportName: report.name, attempt: options.attempt, columns: report.columns };
    for (const format of plan.formats) {
      exports.push(await FileExport.start(options.csvSink!, target, FILE_FORMATS[format], { formulaGuard: options.csvFormulaGuard }));
    }
    const progress = options.progress;
    // Hidden fields out, declared precision applied: every output shows one value.
    const shape = rowShaper(report.columns, options.hiddenFields ?? []);
    progress?.phase("aggregating");
    for await (const found of cursor) {
      options.signal.throwIfAborted();
      const row = shape(found);
      rows += 1;
      if (writer) await writer.add(row);
      for (const file of exports) await file.add(row);
      progress?.rowWritten();
      if (exports.length > 0) progress?.bytesWritten(bytes());
    }
    options.signal.throwIfAborted();
    inlineRows = await writer?.finish(options.inlineRowsMaxBytes ?? 0);
    if (exports.length > 0) progress?.phase("uploading");
    for (const file of exports) stored.push(await file.finish(options.signal));
    if (exports.length > 0) progress?.bytesWritten(bytes());
    for (const file of exports) options.onExportStats?.(file.format.name, file.stats);
  } catch (error) {
    // A failed or aborted attempt leaves no file behind: a final name is only written on finish,
    // and the files this attempt already published (the names are its own) are removed again.
    await Promise.all(exports.map((file) => file.abort(error)));
    const sink = options.csvSink!;
    await Promise.all(
      stored.map((file) =>
        sink
          .remove({ requestId: options.requestId, attempt: options.attempt, ext: FILE_FORMATS[file.format].extension })
          .catch(() => false),
      ),
    );
    throw error;
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    await cursor.close().catch(() => {});
  }
  const csv = stored.find((file) => file.format === "csv");
  return {
    row_count: rows,
    columns,
    attempt: options.attempt,
    rows_per_chunk: options.rowsPerChunk,
    ...(stored.length > 0 ? { files: stored } : {}),
    ...(csv ? { csv: csvRecord(csv) } : {}),
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

/** The CSV's record in the shape `result.csv` has always had. */
function csvRecord(file: StoredFileRecord): NonNullable<ReportResult["csv"]> {
  const { format: _format, sha256: _sha256, ...record } = file;
  return record;
}
