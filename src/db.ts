/**
 * Connection and collection handles. Every module that touches MongoDB receives a `Database`
 * rather than opening its own client, so one process holds one connection pool.
 */
import { MongoClient, type Collection, type Db, type MongoClientOptions } from "mongodb";
import type { RequestDocument } from "./requests/document.ts";
import type { ChunkDocument } from "./results/chunks.ts";
import type { IdempotencyRecord } from "./requests/idempotency.ts";
import type { ScheduleDocument } from "./schedules/document.ts";

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

/** `options` adds to the client's (tests watch commands with `monitorCommands`). */
export async function connect(uri: string, dbName: string, appName = "mongo-reports", options: MongoClientOptions = {}): Promise<Database> {
  // Short server selection so a wrong URI fails in seconds at start, not after 30 s.
  const client = new MongoClient(uri, { appName, serverSelectionTimeoutMS: 10_000, ignoreUndefined: true, ...options });
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
