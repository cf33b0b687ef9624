/**
 * The file formats a report's rows can be exported to. Every format is one stream with the same
 * shape: rows go in (object mode, a few hundred at a time), the file's bytes come out in writes of
 * tens of KiB, with backpressure on both sides, so memory holds a bounded window of the result
 * whatever its length. The export (results/export.ts) pipes that stream into a sink and records
 * what came out (rows, bytes, SHA-256).
 */
import { Transform } from "node:stream";
import type { Column } from "../../reports/define.ts";

export const FORMATS = ["csv", "ndjson", "xlsx", "parquet"] as const;
export type FormatName = (typeof FORMATS)[number];

export interface EncodeOptions {
  /** Neutralise text cells a spreadsheet would run as formulas (default true; CSV and XLSX). */
  formulaGuard?: boolean;
}

export interface FileFormat {
  readonly name: FormatName;
  /** The stored file's extension, without the dot. */
  readonly extension: string;
  /** The Content-Type a download is served with. */
  readonly contentType: string;
  /** A fresh encoder for one file: rows in (objects), bytes out. */
  encoder(columns: readonly Column[], options?: EncodeOptions): Transform;
}

/**
 * A limit of the format that the result goes past (an Excel cell over 32,767 characters, a value
 * that does not fit a Parquet column's declared type). The export fails with it rather than
 * writing a file that silently lacks something.
 */
export class FormatLimitError extends Error {
  override name = "FormatLimitError";
}

/**
 * Rows waiting in object mode before `add` waits for the encoder. Few on purpose: V8 decides early
 * in a process whether objects from one allocation site (the row literal, the BSON deserializer's
 * objects) should be allocated straight in old space, from how many of those allocated since the
 * last young-generation collection are still alive at it. With 256 rows waiting, the first small
 * collections sometimes found nearly all of them alive; from then on every row was tenured and
 * waited for a full collection, and the process peaked some 50 MB higher (a bimodal RSS: 126-135
 * or 170-188 MB for 1,000,000 rows, docs/benchmarks.md). 32 rows still cost one wait per 32 rows
 * when the sink is behind.
 */
export const ROWS_IN_FLIGHT = 32;
/** Bytes a format hands on per write: large enough that per-write costs vanish, small enough not to matter in memory. */
export const WRITE_BYTES = 64 * 1024;

/** What a format does with rows: one encoder per file. */
export interface RowWriter {
  add(row: Record<string, unknown>): void | Promise<void>;
  /** After the last row: the rest of the file. */
  finish(): void | Promise<void>;
  /** The file is abandoned: release what is held. */
  destroy?(): void;
}

/** Runs `step`, then `callback` with its error, whether it returned a promise or not. */
function settle(step: () => void | Promise<void>, callback: (error?: Error | null) => void): void {
  try {
    const result = step();
    if (result instanceof Promise) result.then(() => callback(), callback);
    else callback();
  } catch (error) {
    callback(error as Error);
  }
}

/**
 * The stream every format returns: rows in (ROWS_IN_FLIGHT at most waiting), bytes out through
 * `push` (WRITE_BYTES at most waiting before the next row waits too).
 */
export function rowStream(create: (push: (chunk: Buffer) => void) => RowWriter): Transform {
  let writer: RowWriter | undefined;
  const stream = new Transform({
    writableObjectMode: true,
    writableHighWaterMark: ROWS_IN_FLIGHT,
    readableHighWaterMark: WRITE_BYTES,
    transform(row: Record<string, unknown>, _encoding, callback) {
      settle(() => writer!.add(row), callback);
    },
    flush(callback) {
      settle(() => writer!.finish(), callback);
    },
    destroy(error, callback) {
      writer?.destroy?.();
      callback(error);
    },
  });
  writer = create((chunk) => stream.push(chunk));
  return stream;
}
