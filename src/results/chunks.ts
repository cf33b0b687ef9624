/**
 * Result rows stored in chunks keyed by (request_id, attempt, chunk_no). A chunk closes when it
 * holds `rowsPerChunk` rows or about CHUNK_MAX_BYTES of BSON, whichever comes first, so wide rows
 * (a data-defined report's `$push`ed arrays) never approach MongoDB's 16 MiB document limit. Each
 * chunk records the number of its first row, so reading page 10,000 is a couple of indexed point
 * reads, as cheap as page 0, and the server returns only the rows of the page (`$slice`).
 *
 * `attempt` is part of the key so that a worker that lost its lease, and is still writing, can
 * never mix its rows into those of the attempt that completed.
 */
import { BSON, type Collection, type Document } from "mongodb";

/** A chunk closes once its rows reach this many bytes (BSON), well under the 16 MiB limit. */
export const CHUNK_MAX_BYTES = 4 * 1024 * 1024;

/**
 * A result whose rows fit one chunk and at most this many bytes (BSON) is stored in the request
 * document itself (`result.rows`), written with the final status. Kept small because every status
 * read (`wait=` polls included) reads the request document.
 */
export const INLINE_ROWS_MAX_BYTES = 16 * 1024;

export interface ChunkDocument {
  request_id: unknown;
  attempt: number;
  chunk_no: number;
  /** The result's row number of `rows[0]` (absent in chunks written before chunks closed by size). */
  first_row?: number;
  /** `rows.length`, readable without reading the rows. */
  row_count?: number;
  rows: Document[];
}

export interface ChunkLocation {
  requestId: unknown;
  attempt: number;
  rowsPerChunk: number;
}

export class ChunkWriter {
  private buffer: Document[] = [];
  private bufferBytes = 0;
  private chunkNo = 0;
  rowCount = 0;

  constructor(
    private readonly results: Collection<ChunkDocument>,
    private readonly location: ChunkLocation,
    private readonly maxBytes = CHUNK_MAX_BYTES,
  ) {}

  /** Adds a row; writes a chunk whenever one fills (the caller awaits, which applies backpressure). */
  async add(row: Document): Promise<void> {
    const bytes = BSON.calculateObjectSize(row);
    // Close the chunk before a row that would take it past the limit (a lone huge row still fits
    // in a chunk of its own: the server could not have returned a row near 16 MiB).
    if (this.buffer.length > 0 && this.bufferBytes + bytes > this.maxBytes) await this.flush();
    this.buffer.push(row);
    this.bufferBytes += bytes;
    this.rowCount += 1;
    if (this.buffer.length >= this.location.rowsPerChunk) await this.flush();
  }

  /**
   * Ends the result. One that is still a single unwritten chunk of at most `inlineMaxBytes` is not
   * written: its rows are returned, for the caller to store in the request's final status write
   * (one round trip instead of two, and a page read that needs no chunk). Otherwise the last chunk
   * is written and undefined returned.
   */
  async finish(inlineMaxBytes = 0): Promise<Document[] | undefined> {
    if (this.chunkNo === 0 && this.bufferBytes <= inlineMaxBytes) {
      const rows = this.buffer;
      this.buffer = [];
      this.bufferBytes = 0;
      return rows;
    }
    if (this.buffer.length > 0) await this.flush();
    return undefined;
  }

  private async flush(): Promise<void> {
    const rows = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    await this.results.insertOne({
      request_id: this.location.requestId,
      attempt: this.location.attempt,
      chunk_no: this.chunkNo,
      first_row: this.rowCount - rows.length,
      row_count: rows.length,
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

/**
 * Rows [page × pageSize, (page + 1) × pageSize) of a completed result. Finds the chunk holding the
 * first row (index `chunk_rows`, one key), then reads from it and, if the page goes on, from the
 * chunks after it, each projected to the rows the page needs.
 */
export async function readPage(
  results: Collection<ChunkDocument>,
  location: ChunkLocation,
  page: number,
  pageSize: number,
): Promise<Document[]> {
  const first = page * pageSize;
  const last = first + pageSize - 1;
  const key = { request_id: location.requestId, attempt: location.attempt };
  // Covered by `chunk_pages {request_id, attempt, first_row, row_count}`: the chunk holding the
  // first row is found from index keys alone, and only the one read below fetches a chunk (up to
  // CHUNK_MAX_BYTES), instead of fetching it here too for its row count.
  const start = await results.findOne(
    { ...key, first_row: { $lte: first } },
    { sort: { first_row: -1 }, projection: { _id: 0, first_row: 1, row_count: 1 } },
  );
  if (!start) return (await hasChunks(results, key)) ? readFixedPage(results, location, first, last) : [];
  const startRow = start.first_row!;
  // Past the end of the result: the last chunk ends before the page starts.
  if (first >= startRow + (start.row_count ?? Infinity)) return [];
  const head = await results.findOne(
    { ...key, first_row: startRow },
    { projection: { _id: 0, rows: { $slice: [first - startRow, pageSize] } } },
  );
  const rows: Document[] = head?.rows ?? [];
  if (rows.length === pageSize) return rows;
  // The page continues past the first chunk: the chunks whose first row is still on the page,
  // each cut to what the page can still use (the last one may hold more).
  const rest = await results
    .find(
      { ...key, first_row: { $gt: startRow, $lte: last } },
      { sort: { first_row: 1 }, projection: { _id: 0, first_row: 1, rows: { $slice: pageSize - rows.length } } },
    )
    .toArray();
  for (const chunk of rest) for (const row of chunk.rows) if (rows.length < pageSize) rows.push(row);
  return rows;
}

async function hasChunks(results: Collection<ChunkDocument>, key: Document): Promise<boolean> {
  return (await results.findOne(key, { projection: { _id: 1 } })) !== null;
}

/**
 * Results written before chunks recorded their first row: every chunk but the last holds exactly
 * `rowsPerChunk` rows, so chunk numbers follow from row numbers.
 */
async function readFixedPage(
  results: Collection<ChunkDocument>,
  location: ChunkLocation,
  first: number,
  last: number,
): Promise<Document[]> {
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
