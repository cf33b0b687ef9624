/**
 * Runs one report for one claimed request: validate, aggregate as a cursor, write rows in chunks.
 * Knows nothing about leases or retries; the worker decides what a failure means.
 */
import type { Collection, Db, Document } from "mongodb";
import type { ReportResult } from "../requests/document.ts";
import type { ReportDefinition } from "../reports/define.ts";
import { ChunkWriter, deleteChunks, type ChunkDocument } from "../results/chunks.ts";

export interface ExecuteOptions {
  db: Db;
  results: Collection<ChunkDocument>;
  requestId: unknown;
  attempt: number;
  rowsPerChunk: number;
  maxTimeMS: number;
  signal: AbortSignal;
}

export async function executeReport(
  report: ReportDefinition<any>,
  params: unknown,
  options: ExecuteOptions,
): Promise<ReportResult> {
  // Rows of earlier attempts are never read again (reads go by attempt), so clear them first.
  await deleteChunks(options.results, options.requestId, options.attempt);
  const pipeline: Document[] = report.pipeline(params);
  const cursor = options.db.collection(report.collection).aggregate(pipeline, {
    allowDiskUse: true,
    maxTimeMS: report.maxTimeMS ?? options.maxTimeMS,
    batchSize: Math.min(options.rowsPerChunk, 1000),
  });
  const writer = new ChunkWriter(options.results, {
    requestId: options.requestId,
    attempt: options.attempt,
    rowsPerChunk: options.rowsPerChunk,
  });
  // Closing the cursor kills it on the server, so an aborted report stops using the database.
  const onAbort = () => void cursor.close().catch(() => {});
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const row of cursor) {
      options.signal.throwIfAborted();
      await writer.add(row);
    }
    options.signal.throwIfAborted();
    await writer.finish();
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    await cursor.close().catch(() => {});
  }
  return {
    row_count: writer.rowCount,
    columns: report.columns.map((c) => c.name),
    attempt: options.attempt,
    rows_per_chunk: options.rowsPerChunk,
  };
}
