/**
 * Result rows stored in fixed-size chunks keyed by (request_id, attempt, chunk_no). A page covers
 * a known range of chunk numbers, so reading page 10,000 is one indexed range read, as cheap as
 * page 0, and no single document approaches MongoDB's 16 MB limit.
 *
 * `attempt` is part of the key so that a worker that lost its lease, and is still writing, can
 * never mix its rows into those of the attempt that completed.
 */
import type { Collection, Document } from "mongodb";

export interface ChunkDocument {
  request_id: unknown;
  attempt: number;
  chunk_no: number;
  rows: Document[];
}

export interface ChunkLocation {
  requestId: unknown;
  attempt: number;
  rowsPerChunk: number;
}

export class ChunkWriter {
  private buffer: Document[] = [];
  private chunkNo = 0;
  rowCount = 0;

  constructor(
    private readonly results: Collection<ChunkDocument>,
    private readonly location: ChunkLocation,
  ) {}

  /** Adds a row; writes a chunk whenever one fills (the caller awaits, which applies backpressure). */
  async add(row: Document): Promise<void> {
    this.buffer.push(row);
    this.rowCount += 1;
    if (this.buffer.length >= this.location.rowsPerChunk) await this.flush();
  }

  async finish(): Promise<void> {
    if (this.buffer.length > 0) await this.flush();
  }

  private async flush(): Promise<void> {
    const rows = this.buffer;
    this.buffer = [];
    await this.results.insertOne({
      request_id: this.location.requestId,
      attempt: this.location.attempt,
      chunk_no: this.chunkNo,
      rows,
    });
    this.chunkNo += 1;
  }
}

/**
 * Removes a request's chunks: all of them (on cancel or expiry), or only those of attempts before
 * `beforeAttempt` (a new attempt clearing leftovers). Never the other way round: an old attempt
 * that lost its lease must not be able to delete a newer attempt's rows.
 */
export async function deleteChunks(results: Collection<ChunkDocument>, requestId: unknown, beforeAttempt?: number): Promise<number> {
  const filter = beforeAttempt === undefined ? { request_id: requestId } : { request_id: requestId, attempt: { $lt: beforeAttempt } };
  const { deletedCount } = await results.deleteMany(filter);
  return deletedCount;
}

/** Rows [page × pageSize, (page + 1) × pageSize) of a completed result. */
export async function readPage(
  results: Collection<ChunkDocument>,
  location: ChunkLocation,
  page: number,
  pageSize: number,
): Promise<Document[]> {
  const first = page * pageSize;
  const last = first + pageSize - 1;
  const firstChunk = Math.floor(first / location.rowsPerChunk);
  const lastChunk = Math.floor(last / location.rowsPerChunk);
  const chunks = await results
    .find(
      { request_id: location.requestId, attempt: location.attempt, chunk_no: { $gte: firstChunk, $lte: lastChunk } },
      { sort: { chunk_no: 1 }, projection: { _id: 0, chunk_no: 1, rows: 1 } },
    )
    .toArray();
  const rows: Document[] = [];
  for (const chunk of chunks) {
    const offset = chunk.chunk_no * location.rowsPerChunk;
    const from = Math.max(0, first - offset);
    const to = Math.min(chunk.rows.length, last - offset + 1);
    for (let i = from; i < to; i++) rows.push(chunk.rows[i]);
  }
  return rows;
}
