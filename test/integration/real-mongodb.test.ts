/**
 * Checks only a real MongoDB can answer (the embedded test server has no planner, no majority
 * commit point, no sharding). Runs only when TEST_MONGODB_URI names a replica set or a mongos (see
 * docs/testing.md); without it every test here is reported as skipped.
 *
 *  - every query of src/requests/README.md's table, as the driver sends it (test/support/query-table.ts),
 *    through `explain`: the row's index, no in-memory SORT, no COLLSCAN;
 *  - an aggregation whose run is aborted (the worker's signal: cancel, time-out, lost lease) is
 *    gone from `$currentOp` within a second;
 *  - pickup: requests inserted with w: "majority" are claimed by a worker (times printed);
 *  - report reads with REPORT_READ_PREFERENCE=secondary go to a secondary (when there is one);
 *  - through a mongos: report_results sharded on { request_id: "hashed" } accepts the unique
 *    chunk_key and page reads target one shard; report_requests stays unsharded.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { MongoClient, ObjectId, ReadPreference, type Document } from "mongodb";
import { COLLECTIONS, connect, type Database } from "../../src/db.ts";
import { ensureIndexes } from "../../src/indexes.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { requestSealOf, type RequestSeal } from "../../src/requests/seal.ts";
import { ChunkWriter, readPage } from "../../src/results/chunks.ts";
import { executeReport } from "../../src/worker/execute.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { captureQueries, EXERCISES, queryRows, type CapturedQuery } from "../support/query-table.ts";

const test = suite("real MongoDB (TEST_MONGODB_URI)");
const uri = process.env.TEST_MONGODB_URI;
const it = uri ? test : test.skip;
let mongo: TestMongo;
let database: Database;
let seal: RequestSeal;
let hello: Document;

test.before(async () => {
  if (!uri) {
    console.log("  real-mongodb: skipped (set TEST_MONGODB_URI to a replica set or a mongos to run it; see docs/testing.md)");
    return;
  }
  mongo = await startTestMongo("real_mongodb");
  database = await connect(mongo.uri, mongo.dbName, "real-mongodb-test", { monitorCommands: true });
  await ensureIndexes(database);
  seal = await requestSealOf(database.db);
  hello = await database.db.admin().command({ hello: 1 });
  await seedRequests(database);
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

const isMongos = () => hello?.msg === "isdbgrid";

/**
 * A realistic mix, so the planner chooses between candidate indexes as it would in production
 * (on empty collections every plan ties): mostly finished requests, some pending, running and
 * backing off, two owners, a few report names.
 */
async function seedRequests(db: Database): Promise<void> {
  const now = Date.now();
  const docs = [];
  for (let i = 0; i < 3_000; i++) {
    const status = i % 50 === 0 ? "pending" : i % 60 === 0 ? "running" : i % 7 === 0 ? "error" : "completed";
    const at = new Date(now - (3_000 - i) * 60_000);
    docs.push({
      _id: new ObjectId(),
      report_name: ["top-movies-per-rating", "most-active-commenters", "top-actors"][i % 3],
      params: {},
      output: "json",
      status,
      report_date: at,
      not_before: status === "pending" && i % 100 === 0 ? new Date(now + 3_600_000) : at,
      attempts: status === "pending" ? 0 : 1,
      lease: status === "running" ? { owner: "w", until: new Date(now - (i % 2) * 120_000) } : null,
      fingerprint: `f${i % 200}`,
      ...(i % 4 === 0 ? { owner: i % 8 === 0 ? "alice" : "bob" } : {}),
      ...(status === "completed" || status === "error" ? { finished_at: new Date(at.getTime() + 1_000) } : {}),
    });
  }
  await db.requests.insertMany(docs as any);
}

/** Every plan node of an explain answer (classic and SBE layouts, per-shard plans included). */
function planNodes(explain: unknown): Document[] {
  const nodes: Document[] = [];
  const walk = (value: unknown, inPlan: boolean) => {
    if (Array.isArray(value)) return value.forEach((v) => walk(v, inPlan));
    if (!value || typeof value !== "object") return;
    for (const [key, child] of Object.entries(value as Document)) {
      if (key === "rejectedPlans") continue;
      const plan = inPlan || key === "winningPlan";
      if (plan && child && typeof child === "object" && !Array.isArray(child) && "stage" in (child as Document))
        nodes.push(child as Document);
      walk(child, plan);
    }
  };
  walk(explain, false);
  return nodes;
}

/** The captured command without what explain refuses (sessions, write concern, cluster time). */
function explainable(query: CapturedQuery): Document {
  const { lsid, $db, $clusterTime, txnNumber, writeConcern, readConcern, $readPreference, apiVersion, ...command } = query.raw;
  void [lsid, $db, $clusterTime, txnNumber, writeConcern, readConcern, $readPreference, apiVersion];
  return command;
}

it("every query of the query table: explain shows the row's index, no in-memory sort, no collection scan", async () => {
  const problems: string[] = [];
  for (const row of queryRows()) {
    const exercise = EXERCISES[row.label];
    if (!exercise || row.inserts || row.unindexed) continue;
    const ctx = { database, store: new RequestStore(database.requests, seal) };
    const prepared = await exercise.setup?.(ctx);
    const queries = await captureQueries(database.client, () => exercise.run(ctx, prepared));
    for (const query of queries) {
      const explain = await database.db.command({ explain: explainable(query), verbosity: "queryPlanner" });
      const nodes = planNodes(explain);
      const stages = nodes.map((node) => String(node.stage));
      const indexes = new Set(nodes.filter((node) => node.indexName).map((node) => String(node.indexName)));
      if (stages.some((stage) => stage === "IDHACK" || stage === "EXPRESS_IXSCAN" || stage.startsWith("EXPRESS"))) indexes.add("_id_");
      const where = `${row.label}: ${query.command} ${JSON.stringify(query.shape)} → ${stages.join(" < ")} [${[...indexes].join(", ")}]`;
      if (stages.includes("COLLSCAN")) problems.push(`collection scan: ${where}`);
      if (query.shape.sort && stages.includes("SORT")) problems.push(`in-memory sort: ${where}`);
      if (![...indexes].some((name) => row.indexes.includes(name)))
        problems.push(`not the row's index (${row.indexes.join(" or ")}): ${where}`);
    }
  }
  assert.equal(problems, []);
});

it("an aborted aggregation is gone from $currentOp within a second", async () => {
  const collection = database.db.collection(`slow_${process.pid}`);
  await collection.insertMany(Array.from({ length: 2_000 }, (_, i) => ({ i })));
  const controller = new AbortController();
  const report = {
    name: "slow",
    collection: collection.collectionName,
    // A blocking $group that works for minutes inside the initial aggregate command.
    pipeline: () => [{ $group: { _id: null, n: { $sum: { $size: { $range: [0, { $add: [100_000, "$i"] }] } } } } }],
    columns: [{ name: "n" }],
  } as any;
  const ns = `${mongo.dbName}.${collection.collectionName}`;
  const running = executeReport(
    report,
    {},
    {
      db: database.db,
      results: database.results,
      requestId: new ObjectId(),
      attempt: 1,
      rowsPerChunk: 100,
      maxTimeMS: 600_000,
      signal: controller.signal,
    },
  ).catch((error) => error);
  const ops = async () =>
    database.client
      .db("admin")
      .aggregate([{ $currentOp: { allUsers: true } }, { $match: { ns, "command.aggregate": collection.collectionName } }])
      .toArray();
  for (let i = 0; i < 100 && (await ops()).length === 0; i++) await sleep(100);
  assert.ok((await ops()).length > 0, "the aggregation is running");
  controller.abort(new Error("cancelled"));
  await running;
  const deadline = Date.now() + 1_000;
  let left = await ops();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = await ops();
  }
  assert.equal(
    left.map((op) => op.opid),
    [],
    "still running a second after the abort",
  );
});

it("pickup with w: majority inserts: every request is claimed (latencies printed)", async () => {
  let service: TestService | undefined;
  try {
    service = await startTestService({ ...mongo, dbName: `${mongo.dbName}_pickup` }, { config: { reuseWindowMs: 0 } });
    const requests = service.context.database.requests;
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const inserted = Date.now();
      const { insertedId } = await requests.insertOne({ report_name: "no-such-report", params: {}, status: "pending" } as any, {
        writeConcern: { w: "majority" },
      });
      for (;;) {
        const doc = await requests.findOne({ _id: insertedId });
        if (doc && doc.status !== "pending") {
          latencies.push((doc.started_at?.getTime() ?? Date.now()) - inserted);
          break;
        }
        await sleep(5);
      }
    }
    latencies.sort((a, b) => a - b);
    console.log(`  pickup (insert acknowledged → claimed) ms: p50 ${latencies[10]}, max ${latencies[19]}`);
    assert.is(latencies.length, 20);
  } finally {
    await service?.close();
  }
});

it("report reads with REPORT_READ_PREFERENCE=secondary go to a secondary (replica sets with one)", async () => {
  if (isMongos() || !Array.isArray(hello.hosts) || hello.hosts.length < 2) {
    console.log("  report reads: no secondary here (a mongos or a single-node set): not checked");
    return;
  }
  const client = new MongoClient(uri!, { monitorCommands: true });
  const servers: string[] = [];
  client.on("commandStarted", (event) => {
    if (event.commandName === "aggregate") servers.push(event.address);
  });
  try {
    await client
      .db(mongo.dbName)
      .collection(COLLECTIONS.requests)
      .aggregate([{ $limit: 1 }], { readPreference: new ReadPreference("secondary") })
      .toArray();
    assert.ok(servers.length > 0);
    assert.not.ok(servers.includes(hello.primary), `read from ${servers.join(", ")}, the primary is ${hello.primary}`);
  } finally {
    await client.close();
  }
});

it("through a mongos: report_results sharded on { request_id: hashed } keeps the unique chunk_key and targets page reads; report_requests is unsharded", async () => {
  if (!isMongos()) {
    console.log("  sharded topology: the URI is not a mongos: not checked");
    return;
  }
  const admin = database.client.db("admin");
  await admin.command({ enableSharding: mongo.dbName }).catch(() => {});
  const results = `${mongo.dbName}.${COLLECTIONS.results}`;
  await admin.command({ shardCollection: results, key: { request_id: "hashed" } });
  await ensureIndexes(database); // chunk_key (unique) exists or is created on the sharded collection
  const names = (await database.results.listIndexes().toArray()).map((index) => index.name);
  assert.ok(names.includes("chunk_key"), names.join(", "));
  const requestId = new ObjectId();
  const writer = new ChunkWriter(database.results, { requestId, attempt: 1, rowsPerChunk: 10 });
  for (let i = 0; i < 35; i++) await writer.add({ i });
  await writer.finish();
  assert.equal(
    (await readPage(database.results, { requestId, attempt: 1, rowsPerChunk: 10 } as any, 1, 10)).map((row) => row.i),
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  );
  const explain = await database.db.command({
    explain: {
      find: COLLECTIONS.results,
      filter: { request_id: requestId, attempt: 1, first_row: { $lte: 10 } },
      sort: { first_row: -1 },
      limit: 1,
    },
    verbosity: "queryPlanner",
  });
  const stages = planNodes(explain).map((node) => String(node.stage));
  assert.ok(stages.includes("SINGLE_SHARD"), `a page read targets one shard: ${stages.join(" < ")}`);
  const requests = await database.client
    .db("config")
    .collection("collections")
    .findOne({ _id: `${mongo.dbName}.${COLLECTIONS.requests}` as any });
  assert.ok(!requests || requests.unsplittable === true, `report_requests must stay unsharded: ${JSON.stringify(requests?.key)}`);
});

test.run();
