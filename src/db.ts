/**
 * Connection and collection handles. Every module that touches MongoDB receives a `Database`
 * rather than opening its own client, so one process holds one connection pool.
 */
import { MongoClient, type Collection, type Db } from "mongodb";
import type { RequestDocument } from "./requests/document.ts";
import type { ChunkDocument } from "./results/chunks.ts";
import type { IdempotencyRecord } from "./requests/idempotency.ts";
import type { ScheduleDocument } from "./schedules/document.ts";
import { RequestStatus } from "./requests/status.ts";

export const COLLECTIONS = {
  requests: "report_requests",
  results: "report_results",
  definitions: "report_definitions",
  definitionVersions: "report_definition_versions",
  idempotency: "report_idempotency_keys",
  /** The API's rate-limit counters, shared by every API process (src/api/rate-limit.ts). */
  rateLimits: "api_rate_limits",
  /** Locks one process at a time may hold (retention), by `_id`: see worker/lock.ts. */
  locks: "report_locks",
  schedules: "report_schedules",
  /** The service's keys (the request seal: requests/seal.ts); nothing else reads it. */
  keys: "report_keys",
} as const;

export interface Database {
  client: MongoClient;
  db: Db;
  requests: Collection<RequestDocument>;
  results: Collection<ChunkDocument>;
  idempotency: Collection<IdempotencyRecord>;
  schedules: Collection<ScheduleDocument>;
  close(): Promise<void>;
}

export async function connect(uri: string, dbName: string, appName = "mongo-reports"): Promise<Database> {
  // Short server selection so a wrong URI fails in seconds at start, not after 30 s.
  const client = new MongoClient(uri, { appName, serverSelectionTimeoutMS: 10_000, ignoreUndefined: true });
  await client.connect();
  const db = client.db(dbName);
  return {
    client,
    db,
    requests: db.collection<RequestDocument>(COLLECTIONS.requests),
    results: db.collection<ChunkDocument>(COLLECTIONS.results),
    idempotency: db.collection<IdempotencyRecord>(COLLECTIONS.idempotency),
    schedules: db.collection<ScheduleDocument>(COLLECTIONS.schedules),
    close: () => client.close(),
  };
}

/**
 * Indexes the service's own queries rely on; src/requests/README.md lists each query and the index
 * that serves it. Idempotent, so every process runs it at start.
 */
export async function ensureIndexes(database: Database): Promise<void> {
  await database.requests.createIndexes([
    // Claim of a pending request: only pending documents, bounded to the due ones (not_before up
    // to now), in claim order (not_before, report_date, _id).
    { key: { not_before: 1, report_date: 1, _id: 1 }, name: "pending_due", partialFilterExpression: { status: RequestStatus.Pending } },
    { key: { status: 1, "lease.until": 1 }, name: "expired_leases" },
    { key: { fingerprint: 1, status: 1, finished_at: -1 }, name: "reuse" },
    { key: { status: 1, finished_at: 1 }, name: "retention" },
    // The webhook outbox: only requests whose delivery is still to do are in it.
    {
      key: { "callback.state": 1, status: 1, "callback.next_at": 1 },
      name: "webhook_outbox",
      partialFilterExpression: { "callback.state": "pending" },
    },
    // History (GET /v1/reports) reads newest first by _id: the _id index alone when unfiltered,
    // these when filtered by report or scoped to an API key's owner. A status filter is applied
    // on the way (a handful of statuses, and the newest requests are the ones read).
    { key: { report_name: 1, _id: -1 }, name: "history_by_report" },
    { key: { owner: 1, _id: -1 }, name: "history_by_owner" },
  ]);
  await dropObsoleteIndexes(database.requests, ["claim_order", "pending_order"]);
  await database.idempotency.createIndexes([{ key: { request_id: 1 }, name: "by_request" }]);
  await database.results.createIndexes([
    { key: { request_id: 1, attempt: 1, chunk_no: 1 }, name: "chunk_key", unique: true },
    // A page read finds the chunk holding its first row: equality, equality, range + sort.
    { key: { request_id: 1, attempt: 1, first_row: 1 }, name: "chunk_rows" },
  ]);
  // Firing looks for active schedules by next tick; listing pages one owner's schedules by _id.
  await database.schedules.createIndexes([
    { key: { status: 1, next_run_at: 1 }, name: "due" },
    { key: { owner: 1, _id: 1 }, name: "by_owner" },
  ]);
  // One definition per report name: saving replaces by name, seeding inserts only if absent.
  await database.db.collection(COLLECTIONS.definitions).createIndexes([{ key: { name: 1 }, name: "definition_name", unique: true }]);
  await database.db.collection(COLLECTIONS.rateLimits).createIndexes([
    // rate-limiter-flexible's RateLimiterMongo: one counter per key (unique, so concurrent first calls cannot both insert).
    { key: { key: 1 }, name: "rate_limit_key", unique: true },
    { key: { expire: -1 }, name: "rate_limit_expiry", expireAfterSeconds: 0 },
  ]);
  // A report's versions, newest first (their _id "<name>@<n>" is what keeps numbers unique).
  await database.db.collection(COLLECTIONS.definitionVersions).createIndexes([{ key: { name: 1, version: -1 }, name: "by_name" }]);
}

/** IndexNotFound, NamespaceNotFound: nothing to drop. */
const IGNORABLE = [27, 26];

/**
 * Indexes earlier versions created that no query uses any more (`claim_order {status, report_date}`
 * served the old single `$or` claim; `pending_order {report_date, _id}` the claim before `not_before`
 * bounded it): each costs every write to the collection.
 */
async function dropObsoleteIndexes(collection: Collection<any>, names: string[]): Promise<void> {
  for (const name of names) {
    try {
      await collection.dropIndex(name);
    } catch (error) {
      if (!IGNORABLE.includes((error as { code?: number }).code ?? 0)) throw error;
    }
  }
}
