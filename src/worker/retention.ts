/**
 * Retention: finished requests older than the configured age are removed with their rows (and
 * idempotency keys). Runs in every worker on a timer; concurrent sweeps are harmless because
 * each delete is idempotent. Correctness never depends on TTL indexes (which some servers,
 * including the test server, do not apply).
 */
import type { Database } from "../db.ts";
import { deleteKeysOf } from "../requests/idempotency.ts";
import type { RequestStore } from "../requests/store.ts";

export interface PurgeOptions {
  database: Database;
  store: RequestStore;
  retentionMs: number;
  now?: Date;
  batchSize?: number;
  /** Removes anything else a request left (for example its CSV file). */
  removeArtifacts?: (requestId: unknown) => Promise<void>;
}

/** Removes one batch of expired requests; returns how many. Rows go first, so a request is never visible without its rows. */
export async function purgeExpired(options: PurgeOptions): Promise<number> {
  const now = options.now ?? new Date();
  const ids = await options.store.expiredIds(new Date(now.getTime() - options.retentionMs), options.batchSize ?? 500);
  if (ids.length === 0) return 0;
  for (const id of ids) await options.removeArtifacts?.(id);
  await options.database.results.deleteMany({ request_id: { $in: ids } });
  await deleteKeysOf(options.database.idempotency, ids);
  return options.store.delete(ids);
}
