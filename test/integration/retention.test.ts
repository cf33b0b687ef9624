/**
 * The retention sweeper against the real driver and server: it purges batch after batch until
 * nothing expired is left, with rows, keys and CSV files; and one process purges at a time.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ObjectId } from "mongodb";
import { COLLECTIONS, connect, type Database } from "../../src/db.ts";
import { ensureIndexes } from "../../src/indexes.ts";
import { silentLogger } from "../../src/log.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { requestSealOf } from "../../src/requests/seal.ts";
import { LocalCsvSink } from "../../src/results/sinks/local.ts";
import { storedFileName } from "../../src/results/locations.ts";
import { DistributedLock } from "../../src/worker/lock.ts";
import { purgeExpired, RetentionSweeper } from "../../src/worker/retention.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("retention");
let mongo: TestMongo;
let database: Database;
let store: RequestStore;
let dir: string;

test.before(async () => {
  mongo = await startTestMongo("retention");
  database = await connect(mongo.uri, mongo.dbName, "retention-test");
  await ensureIndexes(database);
  store = new RequestStore(database.requests, await requestSealOf(database.db));
  dir = await mkdtemp(path.join(os.tmpdir(), "retention-"));
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.after.each(async () => {
  await database.requests.deleteMany({});
  await database.results.deleteMany({});
  await database.db.collection(COLLECTIONS.locks).deleteMany({});
});

const HOUR = 3_600_000;

/** `count` finished requests, each with one chunk of rows and (when `withCsv`) a local CSV file. */
async function finished(count: number, finishedAgoMs: number, withCsv = false): Promise<{ ids: ObjectId[]; files: string[] }> {
  const ids: ObjectId[] = [];
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = new ObjectId();
    const object = storedFileName(id, 1, "csv");
    if (withCsv) {
      await mkdir(path.join(dir, "reports"), { recursive: true });
      await writeFile(path.join(dir, object), "a\r\n1\r\n");
      files.push(path.join(dir, object));
    }
    await database.requests.insertOne({
      _id: id,
      report_name: "r",
      params: {},
      output: withCsv ? "both" : "json",
      status: i % 3 === 0 ? "error" : "completed",
      report_date: new Date(Date.now() - finishedAgoMs - 1000),
      attempts: 1,
      lease: null,
      finished_at: new Date(Date.now() - finishedAgoMs),
      result: {
        row_count: 1,
        columns: ["a"],
        attempt: 1,
        rows_per_chunk: 1,
        ...(withCsv ? { csv: { sink: "local", object, bytes: 6, rows: 1 } } : {}),
      },
    } as any);
    await database.results.insertOne({ request_id: id, attempt: 1, chunk_no: 0, rows: [{ a: 1 }] });
    ids.push(id);
  }
  return { ids, files };
}

test("one purge loops batch after batch until a short batch: every expired request goes, with rows and files", async () => {
  const old = await finished(7, 2 * HOUR, true);
  const young = await finished(2, 0);
  const removed = await purgeExpired({ database, store, retentionMs: HOUR, batchSize: 3, csvSink: new LocalCsvSink(dir) });
  assert.is(removed, 7);
  assert.is(await database.requests.countDocuments({ _id: { $in: old.ids } }), 0);
  assert.is(await database.results.countDocuments({ request_id: { $in: old.ids } }), 0);
  for (const file of old.files) assert.not.ok(existsSync(file), `${file} removed`);
  assert.is(await database.requests.countDocuments({ _id: { $in: young.ids } }), 2, "younger requests stay");
  assert.is(await database.results.countDocuments({ request_id: { $in: young.ids } }), 2);
});

test("a request whose webhook delivery is still pending is kept until the delivery ends", async () => {
  const { ids } = await finished(3, 2 * HOUR);
  const callback = (state: "pending" | "delivered") => ({
    url: "https://example.com/hook",
    webhook_id: "msg_1",
    attempts: 1,
    state,
    next_at: new Date(),
  });
  await database.requests.updateOne({ _id: ids[0] }, { $set: { callback: callback("pending") } });
  await database.requests.updateOne({ _id: ids[1] }, { $set: { callback: callback("delivered") } });
  assert.is(await purgeExpired({ database, store, retentionMs: HOUR }), 2);
  assert.is(await database.requests.countDocuments({ _id: ids[0] }), 1, "the pending delivery's request stays");
  assert.is(await database.results.countDocuments({ request_id: ids[0] }), 1, "with its rows");
  await database.requests.updateOne({ _id: ids[0] }, { $set: { "callback.state": "failed" } });
  assert.is(await purgeExpired({ database, store, retentionMs: HOUR }), 1, "removed once the delivery ended");
});

test("expired() projects what names the files (attempt and store kind), so no read per request is needed", async () => {
  await finished(2, 2 * HOUR, true);
  const batch = await store.expired(new Date(Date.now() - HOUR), 10);
  assert.is(batch.length, 2);
  for (const entry of batch) assert.equal(entry.result, { attempt: 1, csv: { sink: "local" } });
});

test("retention removes only the files a request's id and attempt name, never a location its document records", async () => {
  const victim = await finished(1, 0, true);
  const { ids } = await finished(1, 2 * HOUR);
  // A document that records another request's file as its own (as an integration could insert it).
  await database.requests.updateOne(
    { _id: ids[0] },
    { $set: { output: "csv", "result.csv": { sink: "local", object: storedFileName(victim.ids[0], 1, "csv"), bytes: 6, rows: 1 } } },
  );
  assert.is(await purgeExpired({ database, store, retentionMs: HOUR, csvSink: new LocalCsvSink(dir) }), 1);
  assert.ok(existsSync(victim.files[0]), "the other request's file is still there");
});

test("one process purges at a time: a sweeper that finds the lock held purges nothing until it expires", async () => {
  const { ids } = await finished(4, 2 * HOUR);
  const locks = database.db.collection<any>(COLLECTIONS.locks);
  const other = new DistributedLock(locks, "retention", "other-worker", 60_000);
  assert.ok(await other.acquire());
  const sweeper = new RetentionSweeper({ database, store, retentionMs: HOUR, sweepMs: 60_000, owner: "me", log: silentLogger });
  assert.is(await sweeper.sweep(), 0);
  assert.is(await database.requests.countDocuments({ _id: { $in: ids } }), 4, "left to the holder");
  // The holder died: its lock expires and the next sweep takes over.
  assert.is(await sweeper.sweep(new Date(Date.now() + 61_000)), 4);
  assert.is(await locks.countDocuments({}), 0, "released after the sweep");
});

test("the lock: one holder at a time, re-entrant for its owner, free again once released", async () => {
  const locks = database.db.collection<any>(COLLECTIONS.locks);
  const a = new DistributedLock(locks, "l", "a", 60_000);
  const b = new DistributedLock(locks, "l", "b", 60_000);
  const results = await Promise.all([a.acquire(), b.acquire()]);
  assert.is(results.filter(Boolean).length, 1, "exactly one of two concurrent takers wins");
  const [winner, loser] = results[0] ? [a, b] : [b, a];
  assert.ok(await winner.acquire(), "the holder may take it again");
  assert.ok(await winner.renew());
  assert.not.ok(await loser.renew());
  await loser.release(); // not the holder: changes nothing
  assert.not.ok(await loser.acquire());
  await winner.release();
  assert.ok(await loser.acquire());
});

test.run();
