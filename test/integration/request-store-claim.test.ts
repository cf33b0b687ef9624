/**
 * The job store's claim against the real driver and server: which request a worker takes, in which
 * order, and which it must leave alone; the indexes that serve the claim queries; and claiming and
 * completing several requests per round trip (racing claimers never share one, a request taken
 * between the candidates' read and the claim's write is left alone).
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { MongoClient, MongoWriteConcernError, ObjectId, type Collection } from "mongodb";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { connect, type Database } from "../../src/db.ts";
import { ensureIndexes } from "../../src/indexes.ts";
import { RequestStore, type Claim } from "../../src/requests/store.ts";
import { CompletionWriter } from "../../src/requests/completions.ts";
import type { ReportResult, RequestDocument } from "../../src/requests/document.ts";
import { loadRequestSeal, requestSealOf, sealExisting } from "../../src/requests/seal.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { RequestErrorCode } from "../../src/requests/status.ts";
import { at, pending } from "../support/queued.ts";

/** Takes one claimable request the way the worker looks: an expired lease first, else the oldest due pending one. */
async function claimOne(store: RequestStore, owner: string, leaseMs: number, now = new Date()) {
  return (await store.claimExpired(owner, leaseMs, now)) ?? (await store.claimPending(owner, leaseMs, now));
}

const test = suite("store");
let mongo: TestMongo;
let database: Database;
let store: RequestStore;

test.before(async () => {
  mongo = await startTestMongo("store");
  database = await connect(mongo.uri, mongo.dbName, "store-test");
  // Indexes of older layouts, which ensureIndexes must drop.
  await database.requests.createIndex({ status: 1, report_date: 1 }, { name: "claim_order" });
  await database.requests.createIndex(
    { report_date: 1, _id: 1 },
    { name: "pending_order", partialFilterExpression: { status: "pending" } },
  );
  await ensureIndexes(database);
  store = new RequestStore(database.requests, await requestSealOf(database.db));
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

test.after.each(async () => {
  await database.requests.deleteMany({});
});

test("pending requests are claimed by when they became due (not_before, report_date, _id); a future not_before waits", async () => {
  const now = at(100);
  // ObjectIds made in one process increase: a < b, both with the same not_before and report_date.
  const [a, b, c] = [pending(10, { not_before: at(10) }), pending(10, { not_before: at(10) }), pending(20, { not_before: at(20) })];
  const backingOff = pending(1, { not_before: at(200) });
  // Mongo-native inserts carry no not_before: due since they were inserted, first in line.
  const [native, nativeNull] = [pending(30), pending(31, { not_before: null })];
  // A retry that came due at 15 goes between a/b and c, whatever its report_date.
  const dueRetry = pending(5, { not_before: at(15) });
  await database.requests.insertMany([dueRetry, c, backingOff, b, nativeNull, a, native] as any);
  const order: string[] = [];
  for (;;) {
    const doc = await claimOne(store, "me", 30_000, now);
    if (!doc) break;
    assert.is(doc.status, "running");
    assert.is(doc.attempts, 1);
    assert.equal(doc.lease, { owner: "me", until: new Date(now.getTime() + 30_000) });
    order.push(doc._id.toHexString());
  }
  assert.equal(
    order,
    [native, nativeNull, a, b, dueRetry, c].map((d) => d._id.toHexString()),
  );
  assert.is((await database.requests.findOne({ _id: backingOff._id }))?.status, "pending", "not claimed before its not_before");
});

test("submit makes a request due at once; retryLater moves it behind its backoff, and keeps it there until then", async () => {
  const submitted = await store.submit({ report_name: "r", params: {}, output: "json" }, at(10));
  assert.equal(submitted.not_before, at(10));
  const doc = await claimOne(store, "me", 30_000, at(11));
  assert.equal(doc?._id, submitted._id);
  const claim = { id: submitted._id, owner: "me", attempt: 1 };
  assert.ok(await store.retryLater(claim, { code: "execution", message: "flaky" }, at(60)));
  assert.is(await store.claimPending("me", 30_000, at(59)), null, "not a candidate before its not_before");
  assert.equal((await store.claimPending("me", 30_000, at(60)))?._id, submitted._id);
});

test("an expired lease is taken before any pending request; a live lease is left alone", async () => {
  const now = at(100);
  const oldPending = pending(1);
  const live = pending(2, { status: "running", attempts: 1, lease: { owner: "other", until: at(130) } });
  const expired = pending(50, { status: "running", attempts: 1, lease: { owner: "dead", until: at(90) } });
  await database.requests.insertMany([oldPending, live, expired] as any);
  const first = await claimOne(store, "me", 30_000, now);
  assert.equal(first?._id, expired._id);
  assert.is(first?.attempts, 2, "a retaken request spends an attempt");
  assert.is(first?.lease?.owner, "me");
  const second = await claimOne(store, "me", 30_000, now);
  assert.equal(second?._id, oldPending._id);
  assert.is(await claimOne(store, "me", 30_000, now), null, "the live lease stays with its owner");
  assert.is((await database.requests.findOne({ _id: live._id }))?.lease?.owner, "other");
});

test("a pending document whose attempts the claim cannot $inc is set aside as error; the claim takes the next one", async () => {
  const now = at(100);
  const poison = {
    _id: new ObjectId("000000000000000000000001"),
    report_name: "genres-by-rating",
    params: {},
    status: "pending",
    attempts: "x",
    report_date: 0,
  };
  const normal = pending(50);
  await database.requests.insertMany([poison, normal] as any);
  const claimed = await claimOne(store, "me", 30_000, now);
  assert.equal(claimed?._id, normal._id, "the normal request is claimed");
  const setAside = await database.requests.findOne({ _id: poison._id as any });
  assert.is(setAside?.status, "error");
  assert.is(setAside?.error?.code, "invalid_document");
  assert.ok(/attempts|\$inc|non-numeric/i.test(setAside?.error?.message ?? ""), setAside?.error?.message);
  assert.is(await claimOne(store, "me", 30_000, now), null, "and it is never claimed again");
});

test("a running document with an expired lease and a string attempts is set aside; the claim goes on", async () => {
  const now = at(100);
  const poison = pending(1, { status: "running", attempts: "x", lease: { owner: "dead", until: at(90) } });
  const normal = pending(50);
  await database.requests.insertMany([poison, normal] as any);
  const claimed = await claimOne(store, "me", 30_000, now);
  assert.equal(claimed?._id, normal._id);
  const setAside = await database.requests.findOne({ _id: poison._id });
  assert.is(setAside?.status, "error");
  assert.is(setAside?.error?.code, "invalid_document");
  assert.is(setAside?.lease, null);
});

test("the seal key is made once per database; its maker seals the requests already there, and only those verify", async () => {
  const keys = database.db.collection<any>(`keys_${Date.now()}`);
  const legacy = { _id: new ObjectId(), report_name: "r", params: {}, status: "completed", owner: "alice", attempts: 1 };
  const stringId = { _id: "6b14c9d7689910d9b716a7ed", report_name: "r", params: {}, status: "completed", owner: "alice" };
  await database.requests.insertMany([legacy, stringId] as any);
  const [first, second] = await Promise.all([loadRequestSeal(keys), loadRequestSeal(keys)]);
  assert.equal([first.created, second.created].sort(), [false, true], "one process made the key");
  assert.is(await keys.countDocuments({}), 1);
  const maker = first.created ? first : second;
  assert.is(await sealExisting(database.requests, maker.seal), 1, "the ObjectId request is sealed; the string _id never is");
  const sealed = await database.requests.findOne({ _id: legacy._id });
  assert.ok(second.seal.verify(sealed as any), "both processes verify with the same key");
  assert.not.ok(maker.seal.verify({ ...(sealed as any), owner: "bob" }), "a seal does not carry over to another owner");
  assert.not.ok(maker.seal.verify({ ...(sealed as any), _id: new ObjectId() }), "nor to another document");
});

test("the old worker's writes are fenced off once its expired lease is retaken", async () => {
  const doc = pending(1);
  await database.requests.insertOne(doc as any);
  const firstClaim = await claimOne(store, "first", 1_000, at(10));
  const retaken = await claimOne(store, "second", 30_000, at(20));
  assert.equal(retaken?._id, firstClaim?._id);
  const stale = { id: doc._id, owner: "first", attempt: 1 };
  assert.is(await store.renew(stale, 1_000, at(21)), false);
  assert.is(await store.complete(stale, { row_count: 0, columns: [], attempt: 1, rows_per_chunk: 1 }), false);
  assert.is((await database.requests.findOne({ _id: doc._id }))?.status, "running");
});

test("every write of an attempt is fenced by its claim: a zombie worker's late writes match nothing", async () => {
  const doc = pending(1, { not_before: at(1) });
  await database.requests.insertOne(doc as any);
  await claimOne(store, "zombie", 1_000, at(10));
  const retaken = await claimOne(store, "successor", 30_000, at(20)); // the zombie's lease ran out at 11
  assert.is(retaken?.lease?.owner, "successor");
  const before = await database.requests.findOne({ _id: doc._id });
  const zombie = { id: doc._id, owner: "zombie", attempt: 1 };
  const result = { row_count: 0, columns: [], attempt: 1, rows_per_chunk: 1 };
  const error = { code: RequestErrorCode.Execution, message: "late" };
  await store.fillDefaults(zombie, { output: "csv", definition_version: 9 });
  assert.is(await store.renew(zombie, 60_000, at(21), { phase: "aggregating", rows: 5 } as any), false);
  assert.is(await store.complete(zombie, result, at(22)), false);
  assert.is(await store.fail(zombie, error, at(22)), false);
  assert.is(await store.retryLater(zombie, error, at(30)), false);
  assert.is(await store.release(zombie), false);
  assert.equal(await database.requests.findOne({ _id: doc._id }), before, "the successor's attempt is untouched");
});

test("what a run records (read, version, defaults) is set by its final write, and fenced like it", async () => {
  const [done, failed, retried, stolen] = [pending(1), pending(2), pending(3), pending(4)];
  await database.requests.insertMany([done, failed, retried, stolen] as any);
  const claims: Claim[] = [];
  for (let i = 0; i < 4; i++) {
    const doc = (await store.claimPending("me", 60_000, at(10)))!;
    claims.push({ id: doc._id, owner: "me", attempt: doc.attempts });
  }
  const byId = (id: unknown) => claims.find((c) => String(c.id) === String(id))!;
  const record = { read: { preference: "primary" as const }, definition_version: 3, output: "json" as const };
  const result = { row_count: 0, columns: [], attempt: 1, rows_per_chunk: 1 };
  const error = { code: RequestErrorCode.Execution, message: "boom" };
  assert.ok(await store.complete(byId(done._id), result, at(20), record));
  assert.ok(await store.fail(byId(failed._id), error, at(20), record));
  assert.ok(await store.retryLater(byId(retried._id), error, at(30), record));
  const zombie = { ...byId(stolen._id), owner: "zombie" };
  assert.equal(await store.completeMany([{ claim: zombie, result, record }], at(20)), [false]);
  for (const doc of [done, failed, retried]) {
    const stored = await database.requests.findOne({ _id: doc._id });
    assert.equal(
      { read: stored?.read, definition_version: stored?.definition_version, output: stored?.output },
      record,
      String(stored?.status),
    );
  }
  const untouched = await database.requests.findOne({ _id: stolen._id });
  assert.is(untouched?.definition_version, undefined, "a write that lost its fence records nothing");
  assert.is(untouched?.status, "running");
});

test("claims, renewals and every status an attempt writes ask for w: majority", async () => {
  const client = new MongoClient(mongo.uri, { monitorCommands: true });
  const sent: { name: string; writeConcern?: unknown }[] = [];
  const renewals: Record<string, any>[] = [];
  client.on("commandStarted", (event) => {
    if (["findAndModify", "update"].includes(event.commandName))
      sent.push({ name: event.commandName, writeConcern: event.command.writeConcern });
    if (event.commandName === "update" && event.command.updates?.[0]?.u?.$max) renewals.push(event.command);
  });
  try {
    const watched = new RequestStore(client.db(mongo.dbName).collection(database.requests.collectionName), store.seal);
    await database.requests.insertMany([
      pending(1, { not_before: at(1) }),
      pending(2, { not_before: at(2) }),
      pending(3, { not_before: at(3) }),
    ] as any);
    const claims = [];
    for (let i = 0; i < 3; i++) {
      const doc = (await watched.claimPending("me", 1_000, at(10)))!;
      claims.push({ id: doc._id, owner: "me", attempt: doc.attempts });
    }
    const [first, second, third] = claims as [any, any, any];
    assert.ok(await watched.renew(first, 1_000, at(10)));
    assert.ok(await watched.renew(first, 1_000, at(10), undefined, undefined, 700));
    await watched.fillDefaults(first, { output: "json" });
    assert.ok(await watched.complete(first, { row_count: 0, columns: [], attempt: 1, rows_per_chunk: 1 }));
    assert.ok(await watched.retryLater(second, { code: "execution", message: "flaky" }, at(60)));
    assert.ok(await watched.release(third));
    assert.ok((await watched.claimExpired("me", 1_000, at(100))) === null);
    const doc = (await watched.claimPending("me", 1_000, at(100)))!;
    assert.ok(await watched.fail({ id: doc._id, owner: "me", attempt: doc.attempts }, { code: "execution", message: "bad" }));
    await watched.cancel(third.id);
    assert.ok(sent.length >= 11, `${sent.length} writes seen`);
    for (const write of sent) assert.is((write.writeConcern as { w?: string } | undefined)?.w, "majority", write.name);
    // A renewal with a server limit carries it as maxTimeMS and as the majority wait's wtimeout.
    const limited = renewals.find((command) => command.maxTimeMS !== undefined);
    assert.is(limited?.maxTimeMS, 700);
    assert.equal(limited?.writeConcern, { w: "majority", wtimeout: 700 });
  } finally {
    await client.close();
  }
});

test("a renewal whose reply carries a writeConcernError throws (the driver raises it for db.command too): failed, not held", async () => {
  let spoil = false;
  const target = new URL(mongo.uri);
  // The proxy adds what a replica set answers when the majority did not acknowledge in time.
  const proxy = await startTcpProxy(target.hostname, Number(target.port), {
    rewriteReply: (reply) =>
      spoil && "nModified" in reply
        ? {
            ...reply,
            writeConcernError: {
              code: 64,
              codeName: "WriteConcernTimeout",
              errmsg: "waiting for replication timed out",
              errInfo: { wtimeout: true },
            },
          }
        : undefined,
  });
  const client = await MongoClient.connect(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`);
  try {
    const proxied = new RequestStore(client.db(mongo.dbName).collection(database.requests.collectionName), store.seal);
    await database.requests.insertOne(pending(1, { not_before: at(1) }) as any);
    const doc = (await proxied.claimPending("me", 1_000, at(10)))!;
    const claim = { id: doc._id, owner: "me", attempt: doc.attempts };
    assert.ok(await proxied.renew(claim, 1_000, at(10)), "held while the reply is clean");
    spoil = true;
    const error = await proxied.renew(claim, 1_000, at(11)).then(
      () => assert.unreachable("the renewal resolved despite its write concern error"),
      (error: unknown) => error,
    );
    assert.instance(error, MongoWriteConcernError);
    assert.is((error as MongoWriteConcernError).code, 64);
  } finally {
    await client.close();
    await proxy.close();
  }
});

test("ensureIndexes: the partial pending and lease indexes exist, the indexes they replace are gone", async () => {
  const indexes = await database.requests.listIndexes().toArray();
  const byName = new Map(indexes.map((index) => [index.name, index]));
  assert.equal(byName.get("pending_due")?.key, { not_before: 1, report_date: 1, _id: 1 });
  assert.equal(byName.get("pending_due")?.partialFilterExpression, { status: "pending" });
  assert.not.ok(byName.has("pending_order"), "the claim index before not_before is dropped");
  assert.equal(byName.get("running_leases")?.key, { "lease.until": 1 });
  assert.equal(byName.get("running_leases")?.partialFilterExpression, { status: "running" });
  assert.not.ok(byName.has("expired_leases"), "the full lease index is dropped");
  assert.not.ok(byName.has("claim_order"));
  await ensureIndexes(database); // idempotent
});

// Claiming and completing several requests per round trip.

const claimOf = (doc: RequestDocument): Claim => ({ id: doc._id, owner: doc.lease!.owner, attempt: doc.attempts });
const result = (attempt: number): ReportResult => ({ row_count: 1, columns: ["n"], attempt, rows_per_chunk: 1000, rows: [{ n: 1 }] });

test("a batch claim takes up to its limit in claim order, as the single claim would, and leaves requests not yet due", async () => {
  const now = at(100);
  const docs = [pending(10), pending(20), pending(30), pending(40), pending(5, { not_before: at(200) })];
  await database.requests.insertMany([...docs].reverse() as any);
  const { requests: first, exhausted: firstExhausted } = await store.claimPendingBatch("me", 30_000, 3, now);
  assert.not.ok(firstExhausted, "it read as many due requests as it asked for");
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
    second.requests.map((d) => d._id.toHexString()),
    [docs[3]._id.toHexString()],
    "only the due one is left",
  );
  assert.ok(second.exhausted, "fewer due requests than asked for: none is left");
  assert.equal(await store.claimPendingBatch("me", 30_000, 3, now), { requests: [], exhausted: true });
  assert.equal(await store.claimPendingBatch("me", 30_000, 1, now), { requests: [], exhausted: true }, "the single claim too");
  assert.is((await database.requests.findOne({ _id: docs[4]._id }))?.status, "pending");
});

test("racing batch claimers never take the same request, and every request is taken once", async () => {
  const docs = Array.from({ length: 60 }, (_, i) => pending(i));
  await database.requests.insertMany(docs as any);
  const taken = new Map<string, string>();
  await Promise.all(
    ["a", "b", "c"].map(async (owner) => {
      for (;;) {
        const { requests: batch, exhausted } = await store.claimPendingBatch(owner, 30_000, 4);
        if (batch.length === 0 && exhausted) return;
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

/**
 * A store on the same collection whose batch claim's read of candidates returns only after
 * `meanwhile` ran (another worker's claim between this claim's read and its write).
 */
function storeRacedBy(meanwhile: (read: RequestDocument[]) => Promise<unknown>): RequestStore {
  const interleaved = new Proxy(database.requests, {
    get(target, property, receiver) {
      if (property !== "find") return Reflect.get(target, property, receiver);
      return (...args: Parameters<Collection<RequestDocument>["find"]>) => {
        const cursor = target.find(...args);
        return {
          toArray: async () => {
            const read = await cursor.toArray();
            await meanwhile(read);
            return read;
          },
        };
      };
    },
  });
  return new RequestStore(interleaved, store.seal);
}

test("a candidate claimed by another worker between the read and the write is left to it; the rest are claimed", async () => {
  const docs = [pending(1), pending(2), pending(3)];
  await database.requests.insertMany(docs as any);
  const other = new RequestStore(database.requests, store.seal);
  const raced = storeRacedBy(async (read) => read.length === 3 && (await other.claimPending("other", 30_000)));
  const { requests: batch, exhausted } = await raced.claimPendingBatch("me", 30_000, 3);
  assert.equal(
    batch.map((d) => d._id.toHexString()),
    [docs[1], docs[2]].map((d) => d._id.toHexString()),
  );
  assert.not.ok(exhausted, "short because another worker was faster, not because the queue ran out");
  assert.is((await database.requests.findOne({ _id: docs[0]._id }))?.lease?.owner, "other");
  for (const doc of batch) assert.is(doc.attempts, 1);
});

test("a batch that lost every candidate to another worker takes nothing and says more may be waiting", async () => {
  await database.requests.deleteMany({});
  const docs = [pending(1), pending(2), pending(3), pending(4)];
  await database.requests.insertMany(docs as any);
  const other = new RequestStore(database.requests, store.seal);
  // Another worker claims all three candidates between this claim's read and its write.
  const lost = await storeRacedBy(() => other.claimPendingBatch("other", 30_000, 3)).claimPendingBatch("me", 30_000, 3);
  assert.equal(lost, { requests: [], exhausted: false });
  const single = await store.claimPendingBatch("me", 30_000, 1);
  assert.equal(
    single.requests.map((d) => d._id.toHexString()),
    [docs[3]._id.toHexString()],
    "the fourth was still waiting",
  );
  assert.not.ok(single.exhausted, "a single claim that took one says nothing of the queue's end");
});

test("a malformed candidate (attempts not a number) does not stop the others from being claimed", async () => {
  const bad = pending(1, { attempts: "three" });
  const good = pending(2);
  await database.requests.insertMany([bad, good] as any);
  const { requests: batch } = await store.claimPendingBatch("me", 30_000, 2);
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
  const [first] = (await store.claimPendingBatch("me", 30_000, 2)).requests;
  assert.is(first._id.toHexString(), native._id.toHexString());
  assert.is(first.attempts, 1);
  assert.ok(await store.complete(claimOf(first), result(1)));
});

test("completeMany applies every completion whose lease holds and reports the one whose lease was lost", async () => {
  await database.requests.insertMany([pending(1), pending(2), pending(3)] as any);
  const [a, b, c] = (await store.claimPendingBatch("me", 30_000, 3)).requests;
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
  const claimed = (await store.claimPendingBatch("me", 30_000, 7)).requests;
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

test("the completion writer waits for the worker's other running jobs (at most gatherMs), never for a lone job", async () => {
  await database.requests.deleteMany({});
  await database.requests.insertMany(Array.from({ length: 5 }, (_, i) => pending(i)) as any);
  const [a, b, c, d, e] = (await store.claimPendingBatch("me", 30_000, 5)).requests;
  let running = 3;
  // A long gather bound: the test shows the writer does not wait for it when nothing else runs.
  const writer = new CompletionWriter(store, { gatherMs: 60_000, running: () => running });
  // Three jobs running: the first two to finish wait for the third, then all go out in one write.
  const first = writer.complete(claimOf(a), result(1));
  const second = writer.complete(claimOf(b), result(1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.is(writer.writes, 0, "waiting for the third running job");
  const third = writer.complete(claimOf(c), result(1));
  assert.equal(await Promise.all([first, second, third]), [true, true, true]);
  assert.is(writer.writes, 1);
  assert.is(writer.written, 3);
  // Two running, one ends without a completion (failed): the other's completion goes out then.
  running = 2;
  const fourth = writer.complete(claimOf(d), result(1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.is(writer.writes, 1);
  running = 1;
  writer.jobEnded();
  assert.is(await fourth, true);
  assert.is(writer.writes, 2);
  // A lone job is written at once.
  assert.is(await writer.complete(claimOf(e), result(1)), true);
  assert.is(writer.writes, 3);
  // With a short bound, a job finishing beside a long one is written when the bound runs out.
  const bounded = new CompletionWriter(store, { gatherMs: 20, running: () => 2 });
  await database.requests.insertOne(pending(9) as any);
  const [f] = (await store.claimPendingBatch("me", 30_000, 1)).requests;
  assert.is(await bounded.complete(claimOf(f), result(1)), true);
  assert.is(bounded.writes, 1);
  assert.is(await database.requests.countDocuments({ status: "completed" }), 6);
});

test.run();
