/**
 * The test server's launcher answers an equality on an indexed leading field (and `_id` beside
 * other fields, `$in`, `$or`, a `countDocuments`, a date range on an index's second field) from
 * positions kept by value instead of a scan (scripts/mongo-server/EqualityIndex.java,
 * EqualityRangeIndex.java), and a sorted query with a limit in a partial index's key order from
 * that index (OrderedIndex.java). These tests pin that it answers exactly what a scan
 * would: after updates, deletes, an index created over existing documents, and with the values an
 * equality on a string also matches without being that string (arrays). Runs unchanged against
 * TEST_MONGODB_URI, where MongoDB's own indexes answer.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { MongoClient, ObjectId, type Collection, type Document } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("test-server-queries");
let mongo: TestMongo;
let client: MongoClient;

test.before(async () => {
  mongo = await startTestMongo("test_server_queries");
  client = await MongoClient.connect(mongo.uri);
});

test.after(async () => {
  await client?.close();
  await mongo?.stop();
});

let collectionCounter = 0;
/** Untyped: the documents take arbitrary shapes (arrays where strings usually are) on purpose. */
async function freshCollection(documents: Document[], indexes: Document[]): Promise<Collection<any>> {
  const collection = client.db(mongo.dbName).collection(`queries_${collectionCounter++}`);
  if (documents.length > 0) await collection.insertMany(documents);
  for (const key of indexes) await collection.createIndex(key);
  return collection;
}

const names = async (collection: Collection<any>, filter: Document): Promise<string[]> =>
  (await collection.find(filter, { projection: { name: 1 } }).toArray()).map((d) => d.name as string).sort();

test("equality and $in on an indexed field, on a dotted path, with _id beside other fields, and $or", async () => {
  const ids = [new ObjectId(), new ObjectId(), new ObjectId(), new ObjectId()];
  const requests = await freshCollection(
    [
      { _id: ids[0], name: "a", status: "pending", fingerprint: "f1", owner: "o1", callback: { state: "pending" } },
      { _id: ids[1], name: "b", status: "running", fingerprint: "f1", owner: "o1" },
      { _id: ids[2], name: "c", status: "completed", fingerprint: "f2", owner: "o2", callback: { state: "delivered" } },
      { _id: ids[3], name: "d", status: "completed", fingerprint: "f1", request_id: ids[0] },
    ],
    // Created over existing documents: the positions are built from what is there.
    [{ fingerprint: 1, finished_at: -1 }, { owner: 1, status: 1 }, { "callback.state": 1 }, { request_id: 1 }],
  );
  assert.equal(await names(requests, { fingerprint: "f1" }), ["a", "b", "d"]);
  assert.equal(await names(requests, { fingerprint: "f1", status: "completed" }), ["d"]);
  assert.equal(await names(requests, { owner: "o1", status: { $in: ["pending", "running"] } }), ["a", "b"]);
  assert.equal(await names(requests, { status: { $in: ["completed", "cancelled"] }, owner: { $exists: false } }), ["d"]);
  assert.equal(await names(requests, { "callback.state": "pending" }), ["a"]);
  assert.equal(await names(requests, { "callback.state": { $eq: "delivered" } }), ["c"]);
  assert.equal(await names(requests, { request_id: ids[0] }), ["d"]);
  assert.equal(await names(requests, { _id: ids[1], status: "running", owner: "o1" }), ["b"]);
  assert.equal(await names(requests, { _id: ids[1], status: "pending" }), []);
  assert.equal(await names(requests, { _id: { $in: [ids[0], ids[2]] }, fingerprint: { $ne: "f9" } }), ["a", "c"]);
  assert.equal(await names(requests, { $or: [{ status: "pending" }, { fingerprint: "f2" }] }), ["a", "c"]);
  assert.equal(await names(requests, { fingerprint: "none" }), []);
  // A query value the positions do not key by (a regex, a number) is answered by a scan.
  assert.equal(await names(requests, { fingerprint: /^f2/ }), ["c"]);
});

test("updates, deletes and counts keep the answers exact", async () => {
  const requests = await freshCollection([], [{ fingerprint: 1 }, { owner: 1 }]);
  await requests.insertMany(
    Array.from({ length: 20 }, (_, i) => ({
      name: `r${String(i).padStart(2, "0")}`,
      status: "pending",
      owner: i % 2 ? "odd" : "even",
      fingerprint: `f${i % 4}`,
    })),
  );
  // A fenced update (as a claim or a completion: _id plus status) moves a document between values.
  const first = await requests.findOne({ name: "r00" });
  await requests.updateOne({ _id: first!._id, status: "pending" }, { $set: { status: "running", fingerprint: "moved" } });
  assert.equal(await names(requests, { fingerprint: "moved" }), ["r00"]);
  assert.equal(await names(requests, { fingerprint: "f0", status: "pending" }), ["r04", "r08", "r12", "r16"]);
  assert.is(await requests.countDocuments({ status: "running" }), 1);
  assert.is(await requests.countDocuments({ status: "pending", owner: "odd" }), 10);
  // An update that leaves every indexed field as it was (a heartbeat's shape) leaves the answers as they were.
  await requests.updateMany({ owner: "even" }, { $set: { "lease.until": new Date(), note: "beat" }, $inc: { beats: 1 } });
  await requests.updateOne({ name: "r04" }, { $set: { fingerprint: "f0", owner: "even" } });
  assert.equal(await names(requests, { fingerprint: "f0", status: "pending" }), ["r04", "r08", "r12", "r16"]);
  assert.is(await requests.countDocuments({ status: "pending", owner: "even" }), 9);
  // findOneAndUpdate (the claim's shape) and updateMany.
  const claimed = await requests.findOneAndUpdate(
    { status: "pending", owner: "even" },
    { $set: { status: "running" } },
    { sort: { name: 1 } },
  );
  assert.is(claimed?.name, "r02");
  await requests.updateMany({ owner: "odd", fingerprint: "f1" }, { $set: { status: "completed" } });
  assert.equal(await names(requests, { status: "completed" }), ["r01", "r05", "r09", "r13", "r17"]);
  assert.is(await requests.countDocuments({ $or: [{ status: "running" }, { status: "completed" }] }), 7);
  await requests.deleteMany({ status: "completed", owner: "odd" });
  assert.equal(await names(requests, { fingerprint: "f1" }), []);
  assert.is(await requests.countDocuments({ owner: "odd" }), 5);
  // A document inserted into a freed slot is found under its own values only.
  await requests.insertOne({ name: "new", status: "pending", owner: "odd", fingerprint: "f1" });
  assert.equal(await names(requests, { fingerprint: "f1" }), ["new"]);
  assert.is(await requests.countDocuments({ owner: "odd", status: "pending" }), 6);
});

test("an array where a string usually is still matches an equality on one of its elements", async () => {
  const requests = await freshCollection(
    [
      { name: "plain", status: "pending", fingerprint: "f", callback: { state: "pending" } },
      { name: "array", status: ["pending", "running"], fingerprint: ["f", "g"], callback: [{ state: "pending" }] },
    ],
    [{ fingerprint: 1 }, { "callback.state": 1 }],
  );
  assert.equal(await names(requests, { status: "pending" }), ["array", "plain"]);
  assert.equal(await names(requests, { status: "running" }), ["array"]);
  assert.equal(await names(requests, { fingerprint: "g" }), ["array"]);
  assert.equal(await names(requests, { "callback.state": "pending" }), ["array", "plain"]);
  assert.is(await requests.countDocuments({ status: { $in: ["running"] } }), 1);
  // Once the array is gone, the strings are served again, and still exactly.
  await requests.deleteOne({ name: "array" });
  assert.equal(await names(requests, { status: "pending" }), ["plain"]);
  assert.equal(await names(requests, { fingerprint: "g" }), []);
});

test("an equality with a date range on an index's second field (the retention look), after updates and deletes, and with an array of dates", async () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
  const requests = await freshCollection(
    [
      { name: "c1", status: "completed", finished_at: at(1) },
      { name: "c5", status: "completed", finished_at: at(5) },
      { name: "e3", status: "error", finished_at: at(3) },
      { name: "x2", status: "cancelled", finished_at: at(2) },
      { name: "p", status: "pending" },
      { name: "r9", status: "completed", finished_at: at(9) },
    ],
    [{ status: 1, finished_at: 1 }],
  );
  const expired = async (filter: Document) =>
    (await requests.find(filter, { sort: { finished_at: 1 }, projection: { name: 1 } }).toArray()).map((d) => d.name as string);
  assert.equal(await expired({ status: { $in: ["completed", "error"] }, finished_at: { $lt: at(5) } }), ["c1", "e3"]);
  assert.equal(await expired({ status: { $in: ["completed", "error"] }, finished_at: { $lte: at(5) } }), ["c1", "e3", "c5"]);
  assert.equal(await expired({ status: "completed", finished_at: { $gt: at(1), $lt: at(9) } }), ["c5"]);
  assert.equal(await expired({ status: "completed", finished_at: { $gte: at(1), $lte: at(9) } }), ["c1", "c5", "r9"]);
  assert.equal(await expired({ status: "completed", finished_at: { $gt: at(5), $lt: at(5) } }), []);
  assert.equal(await expired({ status: "completed", finished_at: { $gt: at(9), $lt: at(1) } }), []);
  await requests.updateOne({ name: "r9" }, { $set: { finished_at: at(0) } });
  await requests.updateOne({ name: "c5" }, { $set: { note: "unrelated" } }); // neither indexed field changes
  await requests.updateOne({ name: "p" }, { $set: { status: "completed", finished_at: at(4) } });
  await requests.deleteOne({ name: "c1" });
  assert.equal(await expired({ status: { $in: ["completed", "cancelled"] }, finished_at: { $lt: at(5) } }), ["r9", "x2", "p"]);
  assert.is(await requests.countDocuments({ status: "completed", finished_at: { $lt: at(5) } }), 2);
  // An array of dates matches a range when an element is in it.
  await requests.insertOne({ name: "array", status: "completed", finished_at: [at(7), at(2)] });
  assert.equal((await expired({ status: "completed", finished_at: { $lt: at(3) } })).sort(), ["array", "r9"]);
});

test("an aggregation's leading $match narrows only its own collection's first read; a $lookup of the same collection sees all of it", async () => {
  const requests = await freshCollection(
    [
      { name: "p1", status: "pending", group: 1 },
      { name: "p2", status: "pending", group: 2 },
      { name: "c1", status: "completed", group: 1 },
      { name: "c2", status: "completed", group: 2 },
    ],
    [{ status: 1 }],
  );
  const joined = await requests
    .aggregate([
      { $match: { status: "pending" } },
      { $lookup: { from: requests.collectionName, localField: "group", foreignField: "group", as: "same_group" } },
      { $project: { _id: 0, name: 1, same_group: "$same_group.name" } },
      { $sort: { name: 1 } },
    ])
    .toArray();
  assert.equal(
    joined.map((d) => ({ name: d.name, same_group: [...d.same_group].sort() })),
    [
      { name: "p1", same_group: ["c1", "p1"] },
      { name: "p2", same_group: ["c2", "p2"] },
    ],
  );
  const byStatus = await requests
    .aggregate([
      { $match: { status: { $in: ["pending", "completed"] } } },
      { $group: { _id: "$status", n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ])
    .toArray();
  assert.equal(byStatus, [
    { _id: "completed", n: 2 },
    { _id: "pending", n: 2 },
  ]);
});

test("a sort with a limit in a partial index's key order (the claim) answers what a scan and sort would", async () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
  const requests = client.db(mongo.dbName).collection<any>(`queries_${collectionCounter++}`);
  // Some documents before the index exists (it is built from them), some after.
  await requests.insertMany([
    { name: "p5", status: "pending", not_before: null, report_date: at(5) },
    { name: "c1", status: "completed", not_before: null, report_date: at(1) },
    { name: "p3", status: "pending", report_date: at(3) }, // no not_before: sorts with null, as an integration's insert
  ]);
  await requests.createIndex(
    { not_before: 1, report_date: 1, _id: 1 },
    { name: "claim_order", partialFilterExpression: { status: "pending" } },
  );
  await requests.createIndex({ priority: 1 }, { name: "by_priority", partialFilterExpression: { status: "pending" } });
  await requests.insertMany([
    { name: "p2", status: "pending", not_before: null, report_date: at(2), priority: 1 },
    { name: "r0", status: "running", not_before: null, report_date: at(0) },
    { name: "d7", status: "pending", not_before: at(7), report_date: at(0), priority: 1 },
    { name: "p4", status: "pending", not_before: null, report_date: at(4), priority: 0 },
  ]);
  const order = { not_before: 1, report_date: 1, _id: 1 } as const;
  const due = (now: Date) => ({ status: "pending", not_before: { $not: { $gt: now } } });
  // The oracle: the same query with `status` written so it does not state the index's filter as
  // written (so it is sorted in memory, not read in index order), which selects the same documents.
  const scanned = (filter: Document) => ({ ...filter, status: { $in: [filter.status] } });
  const firstOf = async (filter: Document, sort: Document, limit: number, skip = 0) => {
    const read = async (f: Document) =>
      (await requests.find(f, { sort, limit, skip, projection: { name: 1 } }).toArray()).map((d) => d.name as string);
    const served = await read(filter);
    assert.equal(served, await read(scanned(filter)), `${JSON.stringify(filter)} sorted by ${JSON.stringify(sort)}`);
    return served;
  };
  assert.equal(await firstOf(due(at(6)), order, 3), ["p2", "p3", "p4"]);
  assert.equal(await firstOf(due(at(8)), order, 10), ["p2", "p3", "p4", "p5", "d7"]);
  assert.equal(await firstOf(due(at(6)), order, 2, 2), ["p4", "p5"]);
  // Ties (equal keys) come in insertion order, as the in-memory sort leaves them; documents without the key first.
  assert.equal(await firstOf({ status: "pending" }, { priority: 1 }, 5), ["p5", "p3", "p4", "p2", "d7"]);
  // A claim takes the first in order and moves it out of the index; a retry comes back with a later not_before.
  const claimed = await requests.findOneAndUpdate(due(at(6)), { $set: { status: "running" } }, { sort: order });
  assert.is(claimed?.name, "p2");
  assert.equal(await firstOf(due(at(6)), order, 2), ["p3", "p4"]);
  await requests.updateOne({ name: "p2" }, { $set: { status: "pending", not_before: at(6) } });
  await requests.updateOne({ name: "r0" }, { $set: { status: "pending" } });
  await requests.deleteOne({ name: "p4" });
  assert.equal(await firstOf(due(at(6)), order, 10), ["r0", "p3", "p5", "p2"]);
  // An array on a key path orders differently in a sort: answered by the in-memory sort while it is there.
  await requests.insertOne({ name: "array", status: "pending", not_before: null, report_date: [at(9), at(1)] });
  assert.equal(await firstOf(due(at(6)), order, 2), ["r0", "array"]);
  await requests.deleteOne({ name: "array" });
  assert.equal(await firstOf(due(at(6)), order, 2), ["r0", "p3"]);
  // The other direction, and a sort that is not the key, are sorted in memory and still exact.
  assert.equal(await firstOf(due(at(6)), { not_before: -1, report_date: -1, _id: -1 }, 2), ["p2", "p5"]);
  assert.equal(await firstOf(due(at(6)), { report_date: 1 }, 2), ["r0", "p2"]);
  // A key that changes while the document stays in the index moves it; a write to other fields does not.
  await requests.updateOne({ name: "p5" }, { $set: { report_date: at(1) } });
  await requests.updateMany({ status: "pending" }, { $set: { note: "seen" } });
  assert.equal(await firstOf(due(at(6)), order, 10), ["r0", "p5", "p3", "p2"]);
});

test.run();
