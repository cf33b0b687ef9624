/**
 * The indexes the service's own queries rely on (src/requests/README.md lists each query and the
 * index that serves it; test/integration/query-table.test.ts checks the two agree), and how they
 * come to exist.
 *
 * A process start only checks (one listIndexes per collection). What is missing is built once, by
 * one process: the holder of the `indexes` lock (`report_locks`, see worker/lock.ts), without
 * holding up its start; every other process logs that it leaves the build to the holder. A new
 * index on a 10-million-document collection is then one build, not one per starting process each
 * waiting for the commit quorum. (Since MongoDB 4.2 every build is a hybrid build that does not
 * block the collection; "in the background" here means: not in the start-up path.) Unique indexes
 * are the exception: correctness rests on them (a lock, a key, a chunk written once), so a start
 * waits for them; they are built when a collection is new, and concurrent identical builds join.
 */
import type { Collection, Document, IndexDescription } from "mongodb";
import { COLLECTIONS, type Database } from "./db.ts";
import type { Logger } from "./log.ts";
import { RequestStatus } from "./requests/status.ts";
import { DistributedLock, type LockDocument } from "./worker/lock.ts";

export interface NamedIndex extends IndexDescription {
  name: string;
  key: Record<string, 1 | -1>;
}

/** Pending, running, or finished: the partial filters that keep the queue's indexes small. */
const PENDING = { status: RequestStatus.Pending };
const RUNNING = { status: RequestStatus.Running };
const COMPLETED = { status: RequestStatus.Completed };
/** Owner-scoped history indexes hold only requests submitted under access control. */
const OWNED = { owner: { $exists: true } };

/** Every index of the service, by collection name. */
export const SERVICE_INDEXES: Readonly<Record<string, readonly NamedIndex[]>> = {
  [COLLECTIONS.requests]: [
    // Claim of a pending request: only pending documents, bounded to the due ones (not_before up
    // to now), in claim order (not_before, report_date, _id).
    { key: { not_before: 1, report_date: 1, _id: 1 }, name: "pending_due", partialFilterExpression: PENDING },
    // Claim of an expired lease, and the running count: only running documents (a few hundred, not
    // the whole collection that the former {status, lease.until} index held).
    { key: { "lease.until": 1 }, name: "running_leases", partialFilterExpression: RUNNING },
    { key: { fingerprint: 1, finished_at: -1 }, name: "reuse_completed", partialFilterExpression: COMPLETED },
    { key: { status: 1, finished_at: 1 }, name: "retention" },
    // One request per schedule tick (schedules/tick-key.ts); sparse: only fired requests have a key.
    { key: { tick_key: 1 }, name: "schedule_tick", unique: true, sparse: true },
    // The webhook outbox: only requests whose delivery is still to do are in it.
    {
      key: { "callback.state": 1, status: 1, "callback.next_at": 1 },
      name: "webhook_outbox",
      partialFilterExpression: { "callback.state": "pending" },
    },
    // History (GET /v1/reports) reads newest first by _id: one index per combination of its
    // filters (report, status) so no filtered page scans past what it returns; the owner-scoped
    // ones (access control on) are partial on `owner`, so without access control they stay empty.
    { key: { report_name: 1, _id: -1 }, name: "history_by_report" },
    { key: { status: 1, _id: -1 }, name: "history_by_status" },
    { key: { report_name: 1, status: 1, _id: -1 }, name: "history_by_report_status" },
    { key: { owner: 1, _id: -1 }, name: "history_by_owner", partialFilterExpression: OWNED },
    { key: { owner: 1, status: 1, _id: -1 }, name: "history_by_owner_status", partialFilterExpression: OWNED },
    { key: { owner: 1, report_name: 1, _id: -1 }, name: "history_by_owner_report", partialFilterExpression: OWNED },
    { key: { owner: 1, report_name: 1, status: 1, _id: -1 }, name: "history_by_owner_report_status", partialFilterExpression: OWNED },
  ],
  [COLLECTIONS.idempotency]: [{ key: { request_id: 1 }, name: "by_request" }],
  [COLLECTIONS.results]: [
    { key: { request_id: 1, attempt: 1, chunk_no: 1 }, name: "chunk_key", unique: true },
    // A page read finds the chunk holding its first row (equality, equality, range + sort) from the
    // keys alone: row_count is in the key so that look-up fetches no chunk.
    { key: { request_id: 1, attempt: 1, first_row: 1, row_count: 1 }, name: "chunk_pages" },
  ],
  // Firing looks for active schedules by next tick; listing pages one owner's schedules by _id.
  [COLLECTIONS.schedules]: [
    { key: { status: 1, next_run_at: 1 }, name: "due" },
    { key: { owner: 1, _id: 1 }, name: "by_owner" },
  ],
  // One definition per report name: saving replaces by name, seeding inserts only if absent.
  [COLLECTIONS.definitions]: [{ key: { name: 1 }, name: "definition_name", unique: true }],
  [COLLECTIONS.rateLimits]: [
    // rate-limiter-flexible's RateLimiterMongo: one counter per key (unique, so concurrent first calls cannot both insert).
    { key: { key: 1 }, name: "rate_limit_key", unique: true },
    { key: { expire: -1 }, name: "rate_limit_expiry", expireAfterSeconds: 0 },
  ],
  // A report's versions, newest first; one document per (name, version) whatever its _id.
  [COLLECTIONS.definitionVersions]: [{ key: { name: 1, version: -1 }, name: "name_version", unique: true }],
};

/**
 * Indexes earlier versions created that no query uses any more, by collection: each costs every
 * write. `claim_order` served the old single `$or` claim; `pending_order {report_date, _id}` the
 * claim before `not_before`; `expired_leases {status, lease.until}` and `reuse {fingerprint,
 * status, finished_at}` were full indexes now partial; `by_name` is now unique (`name_version`);
 * `chunk_rows {request_id, attempt, first_row}` made a page read fetch its chunk twice.
 */
export const OBSOLETE_INDEXES: Readonly<Record<string, readonly string[]>> = {
  [COLLECTIONS.requests]: ["claim_order", "pending_order", "expired_leases", "reuse"],
  [COLLECTIONS.definitionVersions]: ["by_name"],
  [COLLECTIONS.results]: ["chunk_rows"],
};

/** IndexNotFound, NamespaceNotFound: nothing to drop or list. */
const IGNORABLE = [27, 26];
const LOCK_NAME = "indexes";
/** A build outlives no holder by more than this; the holder renews it every third of it. */
const LOCK_MS = 5 * 60_000;

/** What a collection lacks and has in excess, by index name. */
export interface IndexWork {
  collection: string;
  missing: NamedIndex[];
  obsolete: string[];
}

/** Compares each collection's indexes with the declarations (by name; one listIndexes each). */
export async function indexWork(database: Database): Promise<IndexWork[]> {
  const work: IndexWork[] = [];
  for (const [collection, wanted] of Object.entries(SERVICE_INDEXES)) {
    const present = new Set((await listIndexes(database.db.collection(collection))).map((index) => String(index.name)));
    const missing = wanted.filter((index) => !present.has(index.name));
    const obsolete = (OBSOLETE_INDEXES[collection] ?? []).filter((name) => present.has(name));
    if (missing.length > 0 || obsolete.length > 0) work.push({ collection, missing, obsolete });
  }
  return work;
}

async function listIndexes(collection: Collection<any>): Promise<Document[]> {
  try {
    return await collection.listIndexes().toArray();
  } catch (error) {
    if (IGNORABLE.includes((error as { code?: number }).code ?? 0)) return [];
    throw error;
  }
}

async function apply(database: Database, work: IndexWork, which: (index: NamedIndex) => boolean, dropObsolete: boolean) {
  const collection = database.db.collection(work.collection);
  const indexes = work.missing.filter(which);
  if (indexes.length > 0) await collection.createIndexes(indexes);
  if (!dropObsolete) return;
  for (const name of work.obsolete) {
    try {
      await collection.dropIndex(name);
    } catch (error) {
      if (!IGNORABLE.includes((error as { code?: number }).code ?? 0)) throw error;
    }
  }
}

/** Creates every missing index and drops the obsolete ones now, waiting for all of it (tests, benchmarks, a fresh database). */
export async function ensureIndexes(database: Database): Promise<void> {
  for (const work of await indexWork(database)) await apply(database, work, () => true, true);
}

export interface PreparedIndexes {
  /** Settles when this process's background build (if it took one) has ended; never rejects. */
  built: Promise<void>;
}

/**
 * A process start: checks the indexes; creates missing unique ones (and waits); leaves the rest
 * to the holder of the `indexes` lock, which builds them after this returns. Logs
 * `indexes.build_started`/`indexes.built` (holder) or `indexes.left_to_builder` (the others).
 */
export async function prepareIndexes(database: Database, options: { owner: string; log: Logger }): Promise<PreparedIndexes> {
  const { log } = options;
  const work = await indexWork(database);
  if (work.length === 0) return { built: Promise.resolve() };
  for (const each of work) await apply(database, each, (index) => index.unique === true, false);
  const rest = work.filter((each) => each.obsolete.length > 0 || each.missing.some((index) => index.unique !== true));
  if (rest.length === 0) return { built: Promise.resolve() };
  const summary = rest.map((each) => ({
    collection: each.collection,
    missing: each.missing.filter((index) => index.unique !== true).map((index) => index.name),
    obsolete: each.obsolete,
  }));
  const lock = new DistributedLock(database.db.collection<LockDocument>(COLLECTIONS.locks), LOCK_NAME, options.owner, LOCK_MS);
  if (!(await lock.acquire())) {
    log.info("indexes.left_to_builder", { indexes: summary });
    return { built: Promise.resolve() };
  }
  const started = Date.now();
  log.info("indexes.build_started", { indexes: summary });
  const renewal = setInterval(() => void lock.renew().catch(() => {}), LOCK_MS / 3);
  const built = (async () => {
    try {
      for (const each of rest) await apply(database, each, (index) => index.unique !== true, true);
      log.info("indexes.built", { indexes: summary, ms: Date.now() - started });
    } catch (error) {
      // The next start (of any process) finds them missing and tries again.
      log.warn("indexes.build_failed", { indexes: summary, error });
    } finally {
      clearInterval(renewal);
      await lock.release().catch(() => {});
    }
  })();
  return { built };
}
