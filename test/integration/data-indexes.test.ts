/**
 * Indexes reports declare on the data they read: created at start by default (code reports and
 * data-defined ones alike), never duplicated when an operator already made one, and with
 * CREATE_DATA_INDEXES=false left alone and listed in the log and in discovery.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import type { Db } from "mongodb";
import { createLogger } from "../../src/log.ts";
import { COLLECTIONS } from "../../src/db.ts";
import { DataIndexKeeper } from "../../src/reports/data-indexes.ts";
import { DistributedLock } from "../../src/worker/lock.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get } from "../support/http.ts";

const test = suite("data indexes");
let mongo: TestMongo;
let service: TestService;

const USERS_JOIN = { email: 1, date: 1 };
const COMMENT_REPORTS = { date: 1, movie_id: 1, email: 1, name: 1 };

async function keysOf(db: Db, collection: string): Promise<{ name: string; key: Record<string, number> }[]> {
  try {
    return (await db.collection(collection).listIndexes().toArray()).map((i) => ({ name: i.name, key: i.key }));
  } catch {
    return []; // no such collection yet
  }
}
const hasKey = (indexes: { key: Record<string, number> }[], key: Record<string, number>) =>
  indexes.some((i) => JSON.stringify(Object.entries(i.key)) === JSON.stringify(Object.entries(key)));

test.before(async () => {
  mongo = await startTestMongo("data_indexes");
  // An operator's own index with the same key as a declared one, under another name.
  const { MongoClient } = await import("mongodb");
  const client = await MongoClient.connect(mongo.uri);
  await client.db(mongo.dbName).collection("comments").createIndex(USERS_JOIN, { name: "operator_email_date" });
  await client.close();
  service = await startTestService(mongo, { worker: false, config: { catalogueReloadMs: 0 } });
  await service.context.dataIndexes.idle();
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

test("the comment reports' shared index is created at start; an operator's index of the same key is kept, not duplicated", async () => {
  const indexes = await keysOf(service.context.database.db, "comments");
  assert.ok(hasKey(indexes, COMMENT_REPORTS), JSON.stringify(indexes));
  assert.equal(
    indexes.filter((i) => hasKey([i], USERS_JOIN)).map((i) => i.name),
    ["operator_email_date"],
  );
});

test("discovery lists each report's indexes", async () => {
  const users = await get(`${service.url}/v1/report-definitions/users-by-comment-activity`);
  assert.equal(users.body.indexes, [{ collection: "comments", key: USERS_JOIN }]);
  const movies = await get(`${service.url}/v1/report-definitions/most-commented-movies`);
  assert.equal(movies.body.indexes, [{ collection: "comments", key: COMMENT_REPORTS }]);
  const plain = await get(`${service.url}/v1/report-definitions/top-actors`);
  assert.equal(plain.body.indexes, []);
});

test("a data-defined report's indexes are created when it is loaded; one on a collection it does not read is refused", async () => {
  const definitions = service.context.database.db.collection(COLLECTIONS.definitions);
  const base = {
    collection: "theaters",
    description: "Theaters of one zip code",
    parameters: { type: "object", properties: { zip: { type: "string" } } },
    pipeline: [{ $match: { "location.address.zipcode": { $param: "zip" } } }, { $project: { _id: 0, theaterId: 1 } }],
    columns: [{ name: "theaterId" }],
  };
  await definitions.insertMany([
    { ...base, name: "theaters-in-zip", indexes: [{ key: { "location.address.zipcode": 1 } }] },
    { ...base, name: "theaters-elsewhere", indexes: [{ collection: "users", key: { email: 1 } }] },
  ]);
  await service.context.catalogueLoader.refresh();
  await service.context.dataIndexes.idle();
  assert.ok(hasKey(await keysOf(service.context.database.db, "theaters"), { "location.address.zipcode": 1 }));
  assert.not.ok(hasKey(await keysOf(service.context.database.db, "users"), { email: 1 }));
  const listed = await get(`${service.url}/v1/report-definitions`);
  const rejected = listed.body.rejected.find((r: { name?: string }) => r.name === "theaters-elsewhere");
  assert.ok(
    rejected?.errors.some((e: string) => e.includes("lookups")),
    JSON.stringify(listed.body.rejected),
  );
});

test("CREATE_DATA_INDEXES=false creates nothing and logs the missing indexes with their commands", async () => {
  const lines: Record<string, any>[] = [];
  const log = createLogger({}, "info", (line) => lines.push(JSON.parse(line)));
  const manual = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_manual` },
    { worker: false, log, config: { catalogueReloadMs: 0, createDataIndexes: false } },
  );
  try {
    await manual.context.dataIndexes.idle();
    const db = manual.context.database.db;
    assert.not.ok(hasKey(await keysOf(db, "comments"), USERS_JOIN));
    assert.not.ok(hasKey(await keysOf(db, "comments"), COMMENT_REPORTS));
    const missing = lines.find((l) => l.event === "data_indexes.missing");
    assert.ok(missing, "a data_indexes.missing line");
    const commands = missing.indexes.map((i: { command: string }) => i.command);
    assert.ok(commands.includes('db.getCollection("comments").createIndex({"email":1,"date":1})'), JSON.stringify(commands));
    const join = missing.indexes.find((i: { key: object }) => JSON.stringify(i.key) === JSON.stringify(USERS_JOIN));
    assert.equal(join.reports, ["users-by-comment-activity"]);
    const shared = missing.indexes.find((i: { key: object }) => JSON.stringify(i.key) === JSON.stringify(COMMENT_REPORTS));
    assert.equal(shared.reports.sort(), [
      "comments-per-month",
      "most-active-commenters",
      "most-commented-movies",
      "top-directors-per-comment",
    ]);
  } finally {
    await manual.close();
  }
});

test("only the holder of the data_indexes lock creates: another process logs that it leaves the build; a partial index of the same key does not count", async () => {
  const db = service.context.database.db;
  const key = { "location.address.city": 1 };
  // An operator's partial index of the same key: the planner cannot use it for every query.
  await db.collection("theaters").createIndex(key, { name: "partial_city", partialFilterExpression: { theaterId: { $gt: 1000 } } });
  const report = { name: "by-city", collection: "theaters", indexes: [{ key }] } as any;
  const lines: Record<string, any>[] = [];
  const log = createLogger({}, "info", (line) => lines.push(JSON.parse(line)));
  const locks = db.collection(COLLECTIONS.locks) as any;
  const holder = new DistributedLock(locks, "data_indexes", "another-process", 60_000);
  assert.ok(await holder.acquire());
  const waiting = new DataIndexKeeper({ db, create: true, log, lock: new DistributedLock(locks, "data_indexes", "this-process", 60_000) });
  await waiting.ensure([report]);
  assert.is((await keysOf(db, "theaters")).filter((i) => hasKey([i], key)).length, 1, "nothing built without the lock");
  assert.ok(
    lines.some((l) => l.event === "data_indexes.left_to_builder"),
    JSON.stringify(lines),
  );
  await holder.release();
  await waiting.ensure([report]);
  const built = (await keysOf(db, "theaters")).filter((i) => hasKey([i], key)).map((i) => i.name);
  assert.equal(built.sort(), ["location.address.city_1", "partial_city"], "built next to the partial one once the lock is free");
  assert.is(await locks.countDocuments({ _id: "data_indexes" }), 0, "released after the build");
});

test.run();
