/**
 * What a suite that spawns worker processes starts from: a fresh test MongoDB with the service's
 * indexes and the demo movies, and a store that submits sealed requests as the API does (the
 * workers then compete for them through the database, as in production).
 */
import { connect, type Database } from "../../src/db.ts";
import { ensureIndexes } from "../../src/indexes.ts";
import { requestSealOf } from "../../src/requests/seal.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { loadMflix } from "./mflix.ts";
import { startTestMongo, type TestMongo } from "./mongo.ts";

export interface WorkerDatabase {
  mongo: TestMongo;
  database: Database;
  store: RequestStore;
}

export async function startWorkerDatabase(name: string): Promise<WorkerDatabase> {
  const mongo = await startTestMongo(name);
  const database = await connect(mongo.uri, mongo.dbName);
  await ensureIndexes(database);
  await loadMflix(database.db, ["movies"]);
  const store = new RequestStore(database.requests, await requestSealOf(database.db));
  return { mongo, database, store };
}
