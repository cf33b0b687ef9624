/**
 * The service's indexes are built once, by one process: a start only checks (one listIndexes per
 * collection); unique indexes, which correctness rests on, are created before the start goes on;
 * the rest are built by the holder of the `indexes` lock after its start, and every other process
 * logs that it leaves them to it.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { COLLECTIONS, connect, type Database } from "../../src/db.ts";
import { prepareIndexes, SERVICE_INDEXES } from "../../src/indexes.ts";
import { createLogger } from "../../src/log.ts";
import { DistributedLock } from "../../src/worker/lock.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("indexes");
let mongo: TestMongo;
let database: Database;
const commands: string[] = [];

test.before(async () => {
  mongo = await startTestMongo("indexes");
  database = await connect(mongo.uri, mongo.dbName, "indexes-test", { monitorCommands: true });
  database.client.on("commandStarted", (event) => commands.push(event.commandName));
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

function capturingLog() {
  const entries: Record<string, unknown>[] = [];
  return { entries, log: createLogger({}, "debug", (line) => entries.push(JSON.parse(line))) };
}

const names = async (collection: string) =>
  (await database.db.collection(collection).listIndexes().toArray()).map((index) => index.name as string);

test("while another process holds the build: unique indexes are made at once, the rest left to it (logged)", async () => {
  // An index of an earlier version, which the builder drops.
  await database.requests.createIndex({ status: 1, "lease.until": 1 }, { name: "expired_leases" });
  const other = new DistributedLock(database.db.collection(COLLECTIONS.locks) as any, "indexes", "another-process", 60_000);
  assert.ok(await other.acquire());
  const { entries, log } = capturingLog();
  const prepared = await prepareIndexes(database, { owner: "me", log });
  await prepared.built;
  assert.ok((await names(COLLECTIONS.results)).includes("chunk_key"), "unique chunk_key exists before the start goes on");
  assert.ok((await names(COLLECTIONS.definitions)).includes("definition_name"));
  assert.not.ok((await names(COLLECTIONS.requests)).includes("pending_due"), "not built by a process without the lock");
  assert.ok((await names(COLLECTIONS.requests)).includes("expired_leases"), "nor dropped");
  const left = entries.find((e) => e.event === "indexes.left_to_builder");
  assert.ok(left, JSON.stringify(entries));
  assert.not.ok(entries.some((e) => e.event === "indexes.build_started"));
  await other.release();
});

test("the lock holder builds the rest after its start and drops obsolete ones; a later start only checks", async () => {
  const { entries, log } = capturingLog();
  const prepared = await prepareIndexes(database, { owner: "builder", log });
  await prepared.built;
  assert.ok(entries.some((e) => e.event === "indexes.build_started"));
  assert.ok(
    entries.some((e) => e.event === "indexes.built"),
    JSON.stringify(entries),
  );
  for (const [collection, indexes] of Object.entries(SERVICE_INDEXES)) {
    const present = await names(collection);
    for (const index of indexes) assert.ok(present.includes(index.name), `${collection}.${index.name}`);
  }
  assert.not.ok((await names(COLLECTIONS.requests)).includes("expired_leases"), "the obsolete index is dropped");
  assert.is(await database.db.collection(COLLECTIONS.locks).countDocuments({ _id: "indexes" as any }), 0, "the lock is released");

  commands.length = 0;
  const quiet = capturingLog();
  await (
    await prepareIndexes(database, { owner: "later", log: quiet.log })
  ).built;
  assert.equal([...new Set(commands)], ["listIndexes"], "a start with every index in place sends nothing but listIndexes");
  assert.equal(quiet.entries, []);
});

test.run();
