/**
 * src/requests/README.md's query table is true: every row is run (test/support/query-table.ts),
 * the commands the driver sends are captured, and each query is served by an index its row names,
 * by the planner's rules for one index (test/support/index-coverage.ts): the partial filter
 * implied, a bounded scan, the sort from the index order, no field checked on the documents but
 * the ones the row allows. (The test server has no planner; real-mongodb.test.ts checks the same
 * queries with `explain` on a real deployment.)
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { connect, type Database } from "../../src/db.ts";
import { ensureIndexes } from "../../src/indexes.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { requestSealOf, type RequestSeal } from "../../src/requests/seal.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { coverage } from "../support/index-coverage.ts";
import { captureQueries, declaredIndexes, EXERCISES, queryRows } from "../support/query-table.ts";

const test = suite("query table");
let mongo: TestMongo;
let database: Database;
let seal: RequestSeal;

test.before(async () => {
  mongo = await startTestMongo("query_table");
  database = await connect(mongo.uri, mongo.dbName, "query-table-test", { monitorCommands: true });
  await ensureIndexes(database);
  seal = await requestSealOf(database.db);
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

const rows = queryRows();

test("the table has its rows, and every row has the code that makes its queries (and no code is left without a row)", () => {
  assert.ok(rows.length >= 30, `${rows.length} rows`);
  const labels = new Set(rows.map((row) => row.label));
  for (const row of rows) assert.ok(EXERCISES[row.label], `no exercise for the row ${row.label}`);
  for (const label of Object.keys(EXERCISES)) assert.ok(labels.has(label), `the exercise ${label} has no row in the table`);
});

for (const row of rows) {
  test(`served as the table says: ${row.label}`, async () => {
    const exercise = EXERCISES[row.label];
    assert.ok(exercise, "has an exercise");
    const ctx = { database, store: new RequestStore(database.requests, seal) };
    const prepared = await exercise.setup?.(ctx);
    const queries = await captureQueries(database.client, () => exercise.run(ctx, prepared));
    if (row.inserts) return;
    assert.ok(queries.length > 0, "the row's code queried something");
    if (row.unindexed) return;
    assert.ok(row.indexes.length > 0, `the row names an index (${row.label})`);
    for (const query of queries) {
      const candidates = declaredIndexes(query.collection).filter((index) => row.indexes.includes(index.name));
      const results = candidates.map((index) => ({ index: index.name, ...coverage(index, query.shape) }));
      const idPoint = query.shape.filter._id !== undefined && query.shape.sort === undefined;
      const served = results.find(
        (r) => r.served && (r.index === "_id_" && idPoint ? true : r.residual.every((field) => (exercise.residual ?? []).includes(field))),
      );
      assert.ok(
        served,
        `${query.command} on ${query.collection} ${JSON.stringify(query.shape)} is not served by ${row.indexes.join(" or ")}: ${JSON.stringify(results)}`,
      );
    }
  });
}

test("history: every combination of the list route's filters has an index of its own (no field checked on the documents)", async () => {
  const store = new RequestStore(database.requests, seal);
  for (const owner of [undefined, "alice"]) {
    for (const report_name of [undefined, "r"]) {
      for (const status of [undefined, "error"] as const) {
        const [query] = await captureQueries(database.client, () => store.history({ limit: 5, report_name, status }, { owner }));
        const servedBy = declaredIndexes(database.requests.collectionName).filter((index) => {
          const c = coverage(index, query.shape);
          return c.served && c.residual.length === 0;
        });
        assert.ok(servedBy.length > 0, `history ${JSON.stringify({ owner, report_name, status })}`);
      }
    }
  }
});

test.run();
