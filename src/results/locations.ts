/**
 * Where a request's stored files live: the one naming rule every sink, route and removal uses.
 *
 * A location is derived from the request's id, the attempt that wrote the file and its format,
 * always in this process's configured bucket or directory, and never read back from the request
 * document. A request document is data that integrations may insert (see docs/integrations.md):
 * were its `result.csv.bucket`/`object` used, a crafted document could make the service sign,
 * serve or delete any object it can reach. Derived, a document can only ever name the files of its
 * own id, and an id is unique, so it can only reach files written for itself.
 */
import { ObjectId } from "mongodb";
import { FORMATS } from "./formats/format.ts";

/** A stored file of one request: what its location is derived from. */
export interface StoredFile {
  requestId: ObjectId;
  /** The attempt that wrote it (each attempt writes under its own name). */
  attempt: number;
  /** The file's format as its extension, without the dot: csv, ndjson, xlsx, parquet. */
  ext: string;
}

const EXTENSION = /^[a-z0-9]{1,16}$/;

/** Thrown for an id, attempt or format no file of ours can have. */
export class StoredFileError extends Error {
  override name = "StoredFileError";
}

/**
 * The 24 hex digits of a request id, which must be an ObjectId: a document with a string `_id`
 * equal to a real request's hex is another document, and must never reach that request's files.
 */
function idHex(requestId: ObjectId): string {
  if (!(requestId instanceof ObjectId))
    throw new StoredFileError(`a stored file belongs to a request whose _id is an ObjectId, not ${JSON.stringify(requestId)}`);
  return requestId.toHexString();
}

function checked(attempt: number, ext: string): void {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new StoredFileError(`a stored file's attempt is a positive integer, not ${attempt}`);
  if (!EXTENSION.test(ext)) throw new StoredFileError(`a stored file's format is a short lower-case extension, not ${JSON.stringify(ext)}`);
}

/**
 * `reports/<id>.attempt-<n>.<ext>`: the finished file of one attempt. The name is the attempt's
 * own, so an attempt that lost its lease while uploading can never overwrite the file of the
 * attempt that completed the request (nor a file removed with its request return).
 */
export function storedFileName(requestId: ObjectId, attempt: number, ext: string): string {
  checked(attempt, ext);
  return `reports/${idHex(requestId)}.attempt-${attempt}.${ext}`;
}

/**
 * `incomplete/<id>.attempt-<n>.<ext>`: where an attempt writes before it is complete, outside
 * `reports/`, so nothing listing or watching the final names ever sees it (a bucket lifecycle
 * rule on `incomplete/` can sweep whatever a crashed worker leaves).
 */
export function incompleteFileName(requestId: ObjectId, attempt: number, ext: string): string {
  checked(attempt, ext);
  return `incomplete/${idHex(requestId)}.attempt-${attempt}.${ext}`;
}

/**
 * The stored file of format `ext` that a request document may have, from the document's own id
 * and the attempt recorded in its result; undefined when the document cannot have one of ours:
 * an id that is not an ObjectId (a string equal to a real request's hex is another document), or
 * an attempt that is not a positive integer.
 */
export function storedFileOf(id: unknown, attempt: unknown, ext: string): StoredFile | undefined {
  if (!(id instanceof ObjectId)) return undefined;
  if (typeof attempt !== "number" || !Number.isSafeInteger(attempt) || attempt < 1) return undefined;
  return { requestId: id, attempt, ext };
}

/**
 * The stored files a request's result records: one per format in `result.files`, and the CSV of
 * `result.csv` (results written before `files` have only that). Only the formats are read from
 * the document; each location is derived.
 */
export function storedFilesOf(doc: { _id: unknown; result?: { attempt?: unknown; csv?: unknown; files?: unknown } | null }): StoredFile[] {
  const extensions = new Set<string>();
  if (doc.result?.csv) extensions.add("csv");
  if (Array.isArray(doc.result?.files)) {
    for (const file of doc.result.files as { format?: unknown }[]) {
      const format = file?.format;
      if (typeof format === "string" && (FORMATS as readonly string[]).includes(format)) extensions.add(format);
    }
  }
  const files: StoredFile[] = [];
  for (const ext of extensions) {
    const file = storedFileOf(doc._id, doc.result?.attempt, ext);
    if (file) files.push(file);
  }
  return files;
}
