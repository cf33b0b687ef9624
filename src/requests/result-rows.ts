/**
 * One page of a completed request's rows, wherever they were stored: none for a files-only
 * request, the document's own `result.rows` for a small result (written with the final status),
 * else the result's chunks. The API's reads and the chaos run's check both read rows through it,
 * so neither can miss a way a result is stored.
 */
import type { Collection, Document } from "mongodb";
import type { RequestDocument } from "./document.ts";
import { outputPlan } from "./output.ts";
import { readPage, type ChunkDocument } from "../results/chunks.ts";

export async function resultRowsPage(
  results: Collection<ChunkDocument>,
  doc: RequestDocument,
  page: number,
  pageSize: number,
): Promise<Document[]> {
  if (!doc.result || !outputPlan(doc.output).rows) return [];
  if (doc.result.rows) return doc.result.rows.slice(page * pageSize, (page + 1) * pageSize);
  return readPage(results, { requestId: doc._id, attempt: doc.result.attempt, rowsPerChunk: doc.result.rows_per_chunk }, page, pageSize);
}
