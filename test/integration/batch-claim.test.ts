/**
 * Claiming and completing several requests per round trip, against the real driver and server:
 * which requests a batch claim takes, that racing claimers never share one, that a request taken
 * by someone else between the candidates' read and the claim's write is left alone, and that a
 * bulk completion applies exactly the completions whose leases still hold.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId, type Collection } from "mongodb";
import { connect, ensureIndexes, type Database } from "../../src/db.ts";
import { RequestStore, type Claim } from "../../src/requests/store.ts";
import { CompletionWriter } from "../../src/requests/completions.ts";
import type { ReportResult, RequestDocument } from "../../src/requests/document.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("batch-claim");
let mongo: TestMongo;
let database: Database;
let store: RequestStore;

test.before(async () => {
  mongo = await startTestMongo("batch-claim");
  database = await connect(mongo.uri, mongo.dbName, "batch-claim-test");
  await ensureIndexes(database);
  store = new RequestStore(database.requests);
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

test.after.each(async () => {
  await database.requests.deleteMany({});
});

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const pending = (seconds: number, extra: Record<string, unknown> = {}) => ({
  _id: new ObjectId(),
  report_name: "r",
  params: {},
  status: "pending",
  report_date: at(seconds),
  attempts: 0,
  lease: null,
  ...extra,
});
const claimOf = (doc: RequestDocument): Claim => ({ id: doc._id, owner: doc.lease!.owner, attempt: doc.attempts });
const result = (attempt: number): ReportResult => ({ row_count: 1, columns: ["n"], attempt, rows_per_chunk: 1000, rows: [{ n: 1 }] });

test("a batch claim takes up to its limit in claim order, as the single claim would, and leaves requests not yet due", async () => {
  const now = at(100);
  const docs = [pending(10), pending(20), pending(30), pending(40), pending(5, { not_before: at(200) })];
  await database.requests.insertMany([...docs].reverse() as any);
  const first = await store.claimPendingBatch("me", 30_000, 3, now);
  assert.equal(
    first.map((d) => d._id.toHexString()),
    docs.slice(0, 3).map((d) => d._id.toHexString()),
  );
  for (const doc of first) {
    assert.is(doc.status, "running");
    assert.is(doc.attempts, 1);
    assert.is(doc.lease?.owner, "me");
    assert.equal(doc.lease?.until, new Date(now.getTime() + 30_000));
    // What the call returned is what the server holds (it was computed, not read back).
    const stored = await database.requests.findOne({ _id: doc._id });
    assert.is(stored?.status, "running");
    assert.is(stored?.attempts, 1);
    assert.is(stored?.lease?.owner, "me");
  }
  const second = await store.claimPendingBatch("me", 30_000, 3, now);
  assert.equal(
    second.map((d) => d._id.toHexString()),
    [docs[3]._id.toHexString()],
    "only the due one is left",
  );
  assert.equal(await store.claimPendingBatch("me", 30_000, 3, now), []);
  assert.is((await database.requests.findOne({ _id: docs[4]._id }))?.status, "pending");
});

test("racing batch claimers never take the same request, and every request is taken once", async () => {
  const docs = Array.from({ length: 60 }, (_, i) => pending(i));
  await database.requests.insertMany(docs as any);
  const taken = new Map<string, string>();
  await Promise.all(
    ["a", "b", "c"].map(async (owner) => {
      for (;;) {
        const batch = await store.claimPendingBatch(owner, 30_000, 4);
        if (batch.length === 0) return;
        for (const doc of batch) {
          const key = doc._id.toHexString();
          assert.not.ok(taken.has(key), `${key} claimed by ${taken.get(key)} and ${owner}`);
          taken.set(key, owner);
          assert.is(doc.lease?.owner, owner);
        }
      }
    }),
  );
  assert.is(taken.size, docs.length);
  const stored = await database.requests.find({}).toArray();
  for (const doc of stored) {
    assert.is(doc.attempts, 1, "each request claimed exactly once");
    assert.is(doc.lease?.owner, taken.get(doc._id.toHexString()));
  }
});

test("a candidate claimed by another worker between the read and the write is left to it; the rest are claimed", async () => {
  const docs = [pending(1), pending(2), pending(3)];
  await database.requests.insertMany(docs as any);
  const other = new RequestStore(database.requests);
  // The same collection, but the candidates' read returns only after another worker's claim.
  const interleaved = new Proxy(database.requests, {
    get(target, property, receiver) {
      if (property !== "find") return Reflect.get(target, property, receiver);
      return (...args: Parameters<Collection<RequestDocument>["find"]>) => {
        const cursor = target.find(...args);
        return {
          toArray: async () => {
            const read = await cursor.toArray();
            if (read.length === 3) await other.claimPending("other", 30_000);
            return read;
          },
        };
      };
    },
  });
  const batch = await new RequestStore(interleaved).claimPendingBatch("me", 30_000, 3);
  assert.equal(
    batch.map((d) => d._id.toHexString()),
    [docs[1], docs[2]].map((d) => d._id.toHexString()),
  );
  assert.is((await database.requests.findOne({ _id: docs[0]._id }))?.lease?.owner, "other");
  for (const doc of batch) assert.is(doc.attempts, 1);
});

test("a malformed candidate (attempts not a number) does not stop the others from being claimed", async () => {
  const bad = pending(1, { attempts: "three" });
  const good = pending(2);
  await database.requests.insertMany([bad, good] as any);
  const batch = await store.claimPendingBatch("me", 30_000, 2);
  assert.equal(
    batch.map((d) => d._id.toHexString()),
    [good._id.toHexString()],
  );
  const setAside = await database.requests.findOne({ _id: bad._id });
  assert.is(setAside?.status, "error", "set aside, so it does not head every later batch");
  assert.is(setAside?.error?.code, "invalid_document");
});

test("a Mongo-native request without attempts is claimed as attempt 1 and its later writes are fenced on it", async () => {
  const native = { _id: new ObjectId(), report_name: "r", params: {}, status: "pending", report_date: at(1) };
  await database.requests.insertMany([native, pending(2)] as any);
  const [first] = await store.claimPendingBatch("me", 30_000, 2);
  assert.is(first._id.toHexString(), native._id.toHexString());
  assert.is(first.attempts, 1);
  assert.ok(await store.complete(claimOf(first), result(1)));
});

test("completeMany applies every completion whose lease holds and reports the one whose lease was lost", async () => {
  await database.requests.insertMany([pending(1), pending(2), pending(3)] as any);
  const [a, b, c] = await store.claimPendingBatch("me", 30_000, 3);
  // b's lease was lost: another worker retook it (attempt 2).
  await database.requests.updateOne({ _id: b._id }, { $set: { "lease.owner": "other" }, $inc: { attempts: 1 } });
  const applied = await store.completeMany([
    { claim: claimOf(a), result: result(1) },
    { claim: claimOf(b), result: result(1) },
    { claim: claimOf(c), result: result(1) },
  ]);
  assert.equal(applied, [true, false, true]);
  const stored = new Map((await database.requests.find({}).toArray()).map((d) => [d._id.toHexString(), d]));
  assert.is(stored.get(a._id.toHexString())?.status, "completed");
  assert.equal(stored.get(a._id.toHexString())?.result?.rows, [{ n: 1 }]);
  assert.is(stored.get(b._id.toHexString())?.status, "running", "the lost lease's request is not touched");
  assert.is(stored.get(c._id.toHexString())?.status, "completed");
});

test("the completion writer sends completions that arrive while a write is in flight together, and answers each", async () => {
  const docs = Array.from({ length: 7 }, (_, i) => pending(i));
  await database.requests.insertMany(docs as any);
  const claimed = await store.claimPendingBatch("me", 30_000, 7);
  const writer = new CompletionWriter(store);
  const lost = claimed[3];
  await database.requests.updateOne({ _id: lost._id }, { $set: { status: "cancelled", lease: null } });
  const applied = await Promise.all(claimed.map((doc) => writer.complete(claimOf(doc), result(1))));
  assert.equal(
    applied,
    claimed.map((doc) => doc !== lost),
  );
  // The first went out alone; the six that arrived meanwhile shared one write.
  assert.is(writer.writes, 2);
  assert.is(writer.written, 7);
  assert.is(await database.requests.countDocuments({ status: "completed" }), 6);
});

test.run();
