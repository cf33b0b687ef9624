/**
 * Result chunks against the real driver and server: chunks close by size as well as by count (wide
 * rows past 16 MiB in total are stored), and a page read receives only the rows it returns.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { BSON, MongoClient, ObjectId, type CommandSucceededEvent, type Document } from "mongodb";
import { connect, type Database } from "../../src/db.ts";
import { ensureIndexes } from "../../src/indexes.ts";
import { CHUNK_MAX_BYTES, ChunkWriter, readPage } from "../../src/results/chunks.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("chunks");
let mongo: TestMongo;
let database: Database;

test.before(async () => {
  mongo = await startTestMongo("chunks");
  database = await connect(mongo.uri, mongo.dbName, "chunks-test");
  await ensureIndexes(database);
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

const MIB = 1024 * 1024;

test("wide rows: chunks close by size, each far under 16 MiB, and every row reads back in order", async () => {
  const requestId = new ObjectId();
  // 40 rows of ~1 MiB: 40 MiB in all, which one count-closed chunk (1,000 rows) could never hold.
  const wide = (i: number) => ({ i, blob: String.fromCharCode(97 + (i % 26)).repeat(MIB) });
  const writer = new ChunkWriter(database.results, { requestId, attempt: 1, rowsPerChunk: 1000 });
  for (let i = 0; i < 40; i++) await writer.add(wide(i));
  await writer.finish();
  assert.is(writer.rowCount, 40);
  const chunks = await database.results.find({ request_id: requestId }, { sort: { chunk_no: 1 } }).toArray();
  assert.ok(chunks.length >= 10, `${chunks.length} chunks`);
  let expectedFirst = 0;
  for (const chunk of chunks) {
    assert.ok(
      BSON.calculateObjectSize(chunk) <= CHUNK_MAX_BYTES + 64 * 1024,
      `chunk ${chunk.chunk_no} is ${BSON.calculateObjectSize(chunk)} bytes`,
    );
    assert.is(chunk.first_row, expectedFirst);
    expectedFirst += chunk.rows.length;
  }
  const location = { requestId, attempt: 1, rowsPerChunk: 1000 };
  // Pages that start inside a chunk and cross into the next ones.
  for (const [page, size] of [
    [0, 7],
    [1, 7],
    [2, 13],
    [5, 7],
    [0, 40],
  ]) {
    const rows = await readPage(database.results, location, page, size);
    const expected = Array.from({ length: Math.max(0, Math.min(size, 40 - page * size)) }, (_, k) => page * size + k);
    assert.equal(
      rows.map((r) => r.i),
      expected,
      `page ${page} of ${size}`,
    );
    for (const row of rows) assert.is(row.blob, wide(row.i).blob);
  }
  assert.equal(await readPage(database.results, location, 9, 7), [], "past the end");
});

test("a page read receives only its rows, not whole chunks", async () => {
  const requestId = new ObjectId();
  const writer = new ChunkWriter(database.results, { requestId, attempt: 1, rowsPerChunk: 1000 });
  for (let i = 0; i < 2500; i++) await writer.add({ i, text: `row ${i}` });
  await writer.finish();
  // A second client that records what the server sends back.
  const watched = new MongoClient(mongo.uri, { monitorCommands: true });
  const replies: Document[] = [];
  watched.on("commandSucceeded", (event: CommandSucceededEvent) => {
    if (event.commandName === "find") replies.push(event.reply as Document);
  });
  try {
    const results = watched.db(mongo.dbName).collection<any>(database.results.collectionName);
    const location = { requestId, attempt: 1, rowsPerChunk: 1000 };
    const rows = await readPage(results, location, 99, 10); // rows 990–999, all in chunk 0
    assert.equal(
      rows.map((r) => r.i),
      Array.from({ length: 10 }, (_, k) => 990 + k),
    );
    const crossing = await readPage(results, location, 66, 15); // rows 990–1004: chunks 0 and 1
    assert.equal(
      crossing.map((r) => r.i),
      Array.from({ length: 15 }, (_, k) => 990 + k),
    );
    const shipped = replies
      .flatMap((reply) => (reply.cursor?.firstBatch ?? []) as Document[])
      .reduce((n, doc) => n + (doc.rows?.length ?? 0), 0);
    assert.is(shipped, 25, "the server sent exactly the pages' rows (whole chunks would be 3,000)");
  } finally {
    await watched.close();
  }
});

test("chunks written before first_row existed are still read by their chunk numbers", async () => {
  const requestId = new ObjectId();
  const rowsPerChunk = 4;
  for (let c = 0; c < 3; c++) {
    const rows = Array.from({ length: c < 2 ? rowsPerChunk : 2 }, (_, k) => ({ i: c * rowsPerChunk + k }));
    await database.results.insertOne({ request_id: requestId, attempt: 1, chunk_no: c, rows });
  }
  const rows = await readPage(database.results, { requestId, attempt: 1, rowsPerChunk }, 1, 5);
  assert.equal(
    rows.map((r) => r.i),
    [5, 6, 7, 8, 9],
  );
  assert.equal(await readPage(database.results, { requestId: new ObjectId(), attempt: 1, rowsPerChunk }, 0, 5), [], "no rows at all");
});

test.run();
