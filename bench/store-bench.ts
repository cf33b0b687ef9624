/**
 * What the per-query benchmarks (claim-history, claim-backlog) time against: a fresh embedded test
 * server with the service's indexes, and the service's RequestStore on it.
 */
import process from "node:process";
import { ObjectId } from "mongodb";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import type { RequestDocument } from "../src/requests/document.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";

export async function startStoreBench(dbName: string, appName: string) {
  const server = await startEmbeddedMongo();
  const database = await connect(server.uri, dbName, appName);
  await ensureIndexes(database);
  const store = new RequestStore(database.requests, await requestSealOf(database.db));
  return {
    database,
    store,
    /** Inserts `count` requests, the i-th made by `make(i)` (a fresh `_id` added), a thousand per insertMany. */
    async addRequests(count: number, make: (i: number) => Omit<RequestDocument, "_id">): Promise<void> {
      for (let done = 0; done < count; done += 1000) {
        await database.requests.insertMany(
          Array.from({ length: Math.min(1000, count - done) }, (_, i) => ({ _id: new ObjectId(), ...make(done + i) })),
        );
      }
    },
    /** Closes the client, stops the server and exits (the driver's timers would keep the process up a while). */
    async finish(): Promise<never> {
      await database.close();
      await server.stop();
      process.exit(0);
    },
  };
}
