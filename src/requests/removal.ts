/**
 * Removing requests: the one routine behind DELETE /v1/reports/:id, the retention sweeper and the
 * worker's discard of a result it could not record.
 *
 * One policy for stored files: a request's files are found by the location rule
 * (results/locations.ts: its id, the attempt that wrote them, their format) in this process's
 * configured store, never by a location read from the document. A missing file is already
 * removed. A file a request records in another kind of store (a deployment that moved from the
 * local directory to GCS) is not this process's to name: it is left to that store's lifecycle
 * rule, and the request is removed all the same.
 *
 * Order: files, rows, idempotency keys, then the request itself, so that a failure part-way leaves
 * the request in place to be removed again (every step is idempotent) rather than rows or a file
 * nobody can reach any more. Files go in parallel batches: retention removes hundreds at a time
 * and each removal is a round trip to the store.
 */
import { ObjectId } from "mongodb";
import type { Database } from "../db.ts";
import { storedFilesOf, type StoredFile } from "../results/locations.ts";
import { recordedSinkKind, type CsvSink } from "../results/sinks/sink.ts";
import type { RequestDocument } from "./document.ts";
import { deleteKeysOf } from "./idempotency.ts";
import type { RequestStore } from "./store.ts";

/** How many files are removed at once. */
export const FILE_REMOVAL_BATCH = 16;

export interface RemovalDeps {
  database: Database;
  store: RequestStore;
  /** This process's store; without one, no file is removed (nothing here can have written one). */
  csvSink?: CsvSink;
}

/** What a request document tells removal: its id, and the result that records its files. */
export type RemovableRequest = Pick<RequestDocument, "_id"> & {
  result?: Pick<NonNullable<RequestDocument["result"]>, "attempt" | "csv" | "files"> | null;
};

/** A request kept because one of its files could not be removed (the store failed): removal is to be tried again. */
export interface RemovalFailure {
  id: RequestDocument["_id"];
  error: unknown;
}

/**
 * Removes `files` from `sink` in parallel batches; returns the files whose removal failed (a file
 * already gone is removed). A file the request records in another kind of store is skipped by the
 * caller (see the policy above), not here.
 */
export async function removeStoredFiles(sink: CsvSink | undefined, files: StoredFile[]): Promise<{ file: StoredFile; error: unknown }[]> {
  if (!sink) return [];
  const failed: { file: StoredFile; error: unknown }[] = [];
  for (let start = 0; start < files.length; start += FILE_REMOVAL_BATCH) {
    const batch = files.slice(start, start + FILE_REMOVAL_BATCH);
    const outcomes = await Promise.allSettled(batch.map((file) => sink.remove(file)));
    outcomes.forEach((outcome, i) => {
      if (outcome.status === "rejected") failed.push({ file: batch[i], error: outcome.reason });
    });
  }
  return failed;
}

/** The files of `doc` this process may remove: derived, and only when the result says they are in its kind of store. */
function filesInOurStore(doc: RemovableRequest, sink: CsvSink | undefined): StoredFile[] {
  if (!sink) return [];
  // Every file of a result went to the one sink its attempt had: the first record says which.
  const recorded = doc.result?.files?.[0] ?? doc.result?.csv;
  return recorded && recordedSinkKind(recorded) === sink.kind ? storedFilesOf(doc) : [];
}

/**
 * Removes each request with its files, rows and idempotency keys. A request whose file could not
 * be removed stays (with its rows), to be removed again; it is returned in `failed`.
 */
export async function removeRequests(deps: RemovalDeps, docs: RemovableRequest[]): Promise<{ removed: number; failed: RemovalFailure[] }> {
  if (docs.length === 0) return { removed: 0, failed: [] };
  const files = docs.flatMap((doc) => filesInOurStore(doc, deps.csvSink));
  const fileFailures = await removeStoredFiles(deps.csvSink, files);
  const failedIds = new Map(fileFailures.map(({ file, error }) => [file.requestId.toHexString(), error]));
  const failed: RemovalFailure[] = [];
  const ids: RequestDocument["_id"][] = [];
  for (const doc of docs) {
    const error = doc._id instanceof ObjectId ? failedIds.get(doc._id.toHexString()) : undefined;
    if (error === undefined) ids.push(doc._id);
    else failed.push({ id: doc._id, error });
  }
  if (ids.length === 0) return { removed: 0, failed };
  await deps.database.results.deleteMany({ request_id: { $in: ids } });
  await deleteKeysOf(deps.database.idempotency, ids);
  return { removed: await deps.store.delete(ids), failed };
}
