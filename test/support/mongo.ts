/**
 * The database a test file runs against. By default a fresh embedded mongo-java-server per file
 * (a file's data and change events never meet another file's, and a server holds everything in
 * memory until it stops, so servers are not shared). With
 * TEST_MONGODB_URI set, the same tests run against that server (a real replica set), each file
 * in a database of its own that is dropped afterwards.
 */
import process from "node:process";
import { MongoClient } from "mongodb";
import { startEmbeddedMongo } from "../../scripts/lib/embedded-mongo.ts";
import { started } from "./started.ts";

export interface TestMongo {
  uri: string;
  dbName: string;
  stop(): Promise<void>;
}

let counter = 0;

export async function startTestMongo(label: string): Promise<TestMongo> {
  const dbName = `test_${label.replace(/[^a-z0-9]+/gi, "_")}_${process.pid}_${counter++}`;
  const external = process.env.TEST_MONGODB_URI;
  if (external) {
    return {
      uri: external,
      dbName,
      stop: async () => {
        const client = await MongoClient.connect(external);
        await client.db(dbName).dropDatabase();
        await client.close();
      },
    };
  }
  const server = await startEmbeddedMongo();
  const stopped = started(`test MongoDB ${server.uri}`, () => server.stop());
  return {
    uri: server.uri,
    dbName,
    stop: async () => {
      stopped();
      await server.stop();
    },
  };
}
