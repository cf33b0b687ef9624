/**
 * Pins the shape of change events to what MongoDB documents
 * (https://www.mongodb.com/docs/manual/reference/change-events/), so the product's server-side
 * filter ($match on `updateDescription.updatedFields.status`, `$project` to id/operation/status)
 * is tested against the same events it meets on a real replica set. Runs unchanged against
 * TEST_MONGODB_URI.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { MongoClient, ObjectId, Timestamp, type ChangeStream, type ChangeStreamDocument, type Collection, type Document } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("change-events");
let mongo: TestMongo;
let client: MongoClient;

test.before(async () => {
  mongo = await startTestMongo("change_events");
  client = await MongoClient.connect(mongo.uri);
});

test.after(async () => {
  await client?.close();
  await mongo?.stop();
});

let collectionCounter = 0;
// Untyped documents: the tests write arbitrary shapes (string ids, arrays) on purpose.
function freshCollection(): Collection<any> {
  return client.db(mongo.dbName).collection(`events_${collectionCounter++}`);
}

/** Opens a stream and waits until the server has answered its aggregate (first resume token), so no later write is missed. */
async function open<T extends Document>(
  collection: Collection<T>,
  pipeline: Document[] = [],
  options: Record<string, unknown> = {},
): Promise<ChangeStream<T>> {
  const stream = collection.watch<T>(pipeline, { maxAwaitTimeMS: 200, ...options });
  const ready = new Promise<void>((resolve) => stream.once("resumeTokenChanged", () => resolve()));
  // Emitter mode starts the cursor; events are buffered for next() through the queue below.
  const queue: ChangeStreamDocument<T>[] = [];
  const waiting: ((event: ChangeStreamDocument<T>) => void)[] = [];
  stream.on("change", (event) => {
    const next = waiting.shift();
    if (next) next(event);
    else queue.push(event);
  });
  (stream as unknown as { take: () => Promise<ChangeStreamDocument<T>> }).take = () =>
    queue.length > 0
      ? Promise.resolve(queue.shift()!)
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no change event within 5 s")), 5000);
          waiting.push((event) => {
            clearTimeout(timer);
            resolve(event);
          });
        });
  (stream as unknown as { pending: () => number }).pending = () => queue.length;
  await withTimeout(ready, "the stream's first resume token");
  return stream;
}

function take<T extends Document>(stream: ChangeStream<T>): Promise<Document> {
  return (stream as unknown as { take: () => Promise<Document> }).take();
}

function pending(stream: ChangeStream): number {
  return (stream as unknown as { pending: () => number }).pending();
}

async function withTimeout<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fields every data change event has: an opaque resume token, cluster time, wall time, namespace. */
function assertCommonShape(event: Document, collection: Collection<any>, operationType: string): void {
  assert.is(event.operationType, operationType);
  assert.type(event._id?._data, "string", "the resume token is { _data: <string> }");
  assert.ok(event.clusterTime instanceof Timestamp, "clusterTime is a BSON Timestamp");
  assert.ok(event.wallTime instanceof Date, "wallTime is a date");
  assert.equal(event.ns, { db: mongo.dbName, coll: collection.collectionName });
}

test("insert: fullDocument and documentKey {_id}", async () => {
  const collection = freshCollection();
  const stream = await open(collection);
  const _id = new ObjectId();
  await collection.insertOne({ _id, status: "pending", params: { year: 1999 } });
  const event = await take(stream);
  assertCommonShape(event, collection, "insert");
  assert.equal(event.documentKey, { _id });
  assert.equal(event.fullDocument, { _id, status: "pending", params: { year: 1999 } });
  assert.not.ok("updateDescription" in event);
  await stream.close();
});

test("update: $set, dotted $set, $unset and $push in updateDescription; no fullDocument; a no-op update gives no event", async () => {
  const collection = freshCollection();
  const _id = new ObjectId();
  await collection.insertOne({ _id, status: "pending", lease: { owner: "a", until: new Date(1) }, tags: ["x"] });
  const stream = await open(collection);

  await collection.updateOne({ _id }, { $set: { status: "running" } });
  const set = await take(stream);
  assertCommonShape(set, collection, "update");
  assert.equal(set.documentKey, { _id });
  assert.equal(set.updateDescription, { updatedFields: { status: "running" }, removedFields: [], truncatedArrays: [] });
  assert.not.ok("fullDocument" in set, "no fullDocument without updateLookup");

  const until = new Date(2);
  await collection.updateOne({ _id }, { $set: { "lease.until": until, status: "running" } });
  const dotted = await take(stream);
  assert.equal(dotted.updateDescription.updatedFields, { "lease.until": until }, "the dotted path, and not the unchanged status");

  await collection.updateOne({ _id }, { $unset: { lease: "" } });
  const unset = await take(stream);
  assert.equal(unset.updateDescription, { updatedFields: {}, removedFields: ["lease"], truncatedArrays: [] });

  await collection.updateOne({ _id }, { $push: { tags: "y" } as Document });
  const push = await take(stream);
  assert.equal(push.updateDescription.updatedFields, { "tags.1": "y" });

  const noop = await collection.updateOne({ _id }, { $set: { status: "running" } });
  assert.is(noop.modifiedCount, 0);
  await collection.insertOne({ marker: true });
  const next = await take(stream);
  assert.is(next.operationType, "insert", "the no-op update produced no event");
  await stream.close();
});

test("replace: operationType replace with the new fullDocument", async () => {
  const collection = freshCollection();
  const _id = new ObjectId();
  await collection.insertOne({ _id, status: "pending", a: 1 });
  const stream = await open(collection);
  await collection.replaceOne({ _id }, { status: "pending", b: 2 });
  const event = await take(stream);
  assertCommonShape(event, collection, "replace");
  assert.equal(event.documentKey, { _id });
  assert.equal(event.fullDocument, { _id, status: "pending", b: 2 });
  assert.not.ok("updateDescription" in event);
  await stream.close();
});

test("findOneAndUpdate, findOneAndReplace and findOneAndDelete emit their events", async () => {
  const collection = freshCollection();
  const _id = new ObjectId();
  await collection.insertOne({ _id, status: "pending", attempts: 0 });
  const stream = await open(collection);

  await collection.findOneAndUpdate({ _id, status: "pending" }, { $set: { status: "running" }, $inc: { attempts: 1 } });
  const update = await take(stream);
  assertCommonShape(update, collection, "update");
  assert.equal(update.updateDescription, { updatedFields: { status: "running", attempts: 1 }, removedFields: [], truncatedArrays: [] });

  await collection.findOneAndReplace({ _id }, { status: "pending" });
  const replace = await take(stream);
  assert.is(replace.operationType, "replace");
  assert.equal(replace.fullDocument, { _id, status: "pending" });

  const upserted = new ObjectId();
  await collection.findOneAndUpdate({ _id: upserted }, { $set: { status: "pending" } }, { upsert: true });
  const insert = await take(stream);
  assert.is(insert.operationType, "insert");
  assert.equal(insert.fullDocument, { _id: upserted, status: "pending" });

  await collection.findOneAndDelete({ _id });
  const deleted = await take(stream);
  assertCommonShape(deleted, collection, "delete");
  assert.equal(deleted.documentKey, { _id });
  assert.not.ok("fullDocument" in deleted);
  await stream.close();
});

test("updateLookup reads the current document", async () => {
  const collection = freshCollection();
  const _id = new ObjectId();
  await collection.insertOne({ _id, status: "pending" });
  const stream = await open(collection, [], { fullDocument: "updateLookup" });
  await collection.updateOne({ _id }, { $set: { status: "completed" } });
  const event = await take(stream);
  assert.equal(event.fullDocument, { _id, status: "completed" });
  await stream.close();
});

test("a server-side $match on updatedFields.status and $project deliver only status changes, projected", async () => {
  const collection = freshCollection();
  const _id = new ObjectId();
  await collection.insertOne({ _id, status: "pending" });
  const pipeline = [
    {
      $match: {
        $or: [
          { operationType: { $in: ["insert", "replace"] } },
          { operationType: "update", "updateDescription.updatedFields.status": { $exists: true } },
        ],
      },
    },
    {
      $project: {
        operationType: 1,
        documentKey: 1,
        status: { $ifNull: ["$fullDocument.status", "$updateDescription.updatedFields.status"] },
      },
    },
  ];
  const stream = await open(collection, pipeline);
  await collection.updateOne({ _id }, { $set: { "lease.until": new Date() } }); // a heartbeat: filtered out
  await collection.updateOne({ _id }, { $set: { status: "running", lease: { owner: "w", until: new Date() } } });
  const event = await take(stream);
  assert.equal(event, { _id: event._id, operationType: "update", documentKey: { _id }, status: "running" });
  assert.is(pending(stream), 0);
  await stream.close();
});

test("resume: resumeAfter a token continues with the next event; the post-batch token moves past filtered events", async () => {
  const collection = freshCollection();
  const stream = await open(collection);
  const ids = [new ObjectId(), new ObjectId(), new ObjectId()];
  for (const _id of ids) await collection.insertOne({ _id });
  const first = await take(stream);
  await take(stream);
  await take(stream);
  await stream.close();

  const resumed = await open(collection, [], { resumeAfter: first._id });
  assert.equal((await take(resumed)).documentKey, { _id: ids[1] });
  assert.equal((await take(resumed)).documentKey, { _id: ids[2] });
  await resumed.close();

  // A stream whose $match drops everything still advances its resume token (postBatchResumeToken).
  const filtered = await open(collection, [{ $match: { operationType: "delete" } }]);
  const before = JSON.stringify(filtered.resumeToken);
  const moved = new Promise<void>((resolve) => filtered.on("resumeTokenChanged", (token) => JSON.stringify(token) !== before && resolve()));
  await collection.insertOne({ ignored: true });
  await withTimeout(moved, "the post-batch resume token to move past a filtered event");
  await filtered.close();
});

test("drop: a drop event, then invalidate, then the stream closes; startAfter the invalidate opens a new one", async () => {
  const collection = freshCollection();
  await collection.insertOne({ before: true });
  const stream = await open(collection);
  const closed = new Promise<void>((resolve) => stream.once("close", () => resolve()));
  await collection.drop();
  const drop = await take(stream);
  assert.is(drop.operationType, "drop");
  assert.equal(drop.ns, { db: mongo.dbName, coll: collection.collectionName });
  const invalidate = await take(stream);
  assert.is(invalidate.operationType, "invalidate");
  await withTimeout(closed, "the stream to close after invalidate");

  const after = await open(collection, [], { startAfter: invalidate._id });
  await collection.insertOne({ _id: "after-drop" });
  const event = await take(after);
  assert.is(event.operationType, "insert");
  assert.equal(event.documentKey, { _id: "after-drop" });
  await after.close();
});

test("inserts claimed at once by other clients: each insert event comes before its update and carries the document as inserted", async () => {
  const collection = freshCollection();
  const stream = await open(collection);
  const claimer = await MongoClient.connect(mongo.uri, { maxPoolSize: 4 });
  const claims = claimer.db(mongo.dbName).collection<any>(collection.collectionName);
  const total = 600;
  // Parameters large enough that copying a request takes a while, as a claim may land meanwhile.
  const params = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, { value: i, label: `parameter ${i}` }]));
  let inserting = true;
  // Four claim loops take each request the moment it is visible, as workers do, racing the insert's own bookkeeping.
  const claimLoops = Array.from({ length: 4 }, async () => {
    while (inserting || (await claims.countDocuments({ status: "pending" })) > 0) {
      await claims.findOneAndUpdate({ status: "pending" }, { $set: { status: "running", lease: { owner: "w" } }, $inc: { attempts: 1 } });
    }
  });
  try {
    // insertOne, insertMany and an upsert by update: every way a request arrives.
    await Promise.all(
      Array.from({ length: 4 }, async (_, loop) => {
        for (let i = loop; i < total; i += 4) {
          if (i % 3 === 0) await collection.insertOne({ n: i, status: "pending", params });
          else if (i % 3 === 1) await collection.insertMany([{ n: i, status: "pending", params }]);
          else await collection.updateOne({ n: i }, { $setOnInsert: { status: "pending", params } }, { upsert: true });
        }
      }),
    );
  } finally {
    inserting = false;
    await Promise.all(claimLoops);
    await claimer.close();
  }
  const seen = new Map<string, string[]>();
  for (let events = 0; events < 2 * total; events++) {
    const event = (await take(stream)) as ChangeStreamDocument<any> & { documentKey: { _id: ObjectId } };
    const key = String(event.documentKey._id);
    if (event.operationType === "insert") assert.is(event.fullDocument?.status, "pending", `insert of ${key}`);
    seen.set(key, [...(seen.get(key) ?? []), event.operationType]);
  }
  assert.is(seen.size, total);
  for (const [key, operations] of seen) assert.equal(operations, ["insert", "update"], key);
  await stream.close();
});

test.run();
