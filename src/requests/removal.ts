/**
 * Removing one request on a client's demand (DELETE /v1/reports/:id): its CSV file, its rows, its
 * idempotency keys, then the request itself, so that a failure part-way leaves the request in
 * place for the client to retry the removal (every step is idempotent) rather than rows or a
 * file nobody can reach any more. A request still running is cancelled by the caller first: its
 * worker then stops and discards what it had written.
 */
import type { Database } from "../db.ts";
import { storedCsv, type CsvSink } from "../results/sinks/sink.ts";
import type { RequestDocument } from "./document.ts";
import { deleteKeysOf } from "./idempotency.ts";
import type { RequestStore } from "./store.ts";

export interface RemovalDeps {
  database: Database;
  store: RequestStore;
  csvSink: CsvSink;
}

/** Removes `doc` and everything it left; false when its CSV is in another kind of store than this process's (nothing removed). */
export async function removeRequest(deps: RemovalDeps, doc: RequestDocument): Promise<boolean> {
  const csv = doc.result?.csv ? storedCsv(doc.result.csv) : undefined;
  if (csv) {
    if (csv.sink !== deps.csvSink.kind) return false;
    await deps.csvSink.remove(csv);
  }
  await deps.database.results.deleteMany({ request_id: doc._id });
  await deleteKeysOf(deps.database.idempotency, [doc._id]);
  await deps.store.delete([doc._id]);
  return true;
}
