/**
 * The floor every benchmark compares against: the bare driver doing, one step after another, what
 * one job needs on the same server, with nothing of ours around it: insert the request, claim it
 * (findOneAndUpdate in claim order), run the report's aggregation, store its rows (one chunk),
 * write the final status (fenced on owner and attempt, as ours), read the request back (the
 * client's read). Six round trips. Sequential for latency, LOOPS of it side by side for throughput.
 */
import { MongoClient, ObjectId, type Db } from "mongodb";

/** What the floor's job aggregates: the one-row report bench-one-row (bench/reports), seeded by `seedFloor`. */
export const FLOOR_SOURCE = "bench_one_row";
const FLOOR_PIPELINE = [{ $limit: 1 }, { $project: { _id: 0, n: 1, label: 1 } }];

export async function seedFloor(db: Db): Promise<void> {
  if ((await db.collection(FLOOR_SOURCE).countDocuments({}, { limit: 1 })) === 0) {
    await db.collection(FLOOR_SOURCE).insertOne({ n: 1, label: "one" });
  }
  await db
    .collection("floor_requests")
    .createIndex({ report_date: 1, _id: 1 }, { name: "pending_order", partialFilterExpression: { status: "pending" } });
  await db.collection("floor_results").createIndex({ request_id: 1, attempt: 1, chunk_no: 1 }, { unique: true });
}

/** One job, bare: six round trips. Returns its duration in ms. */
export async function floorJob(db: Db, owner: string, i: number): Promise<number> {
  const started = performance.now();
  const requests = db.collection("floor_requests");
  const now = new Date();
  const { insertedId } = await requests.insertOne({
    report_name: "bench-one-row",
    params: { i },
    status: "pending",
    report_date: now,
    attempts: 0,
    lease: null,
  });
  const claimed = await requests.findOneAndUpdate(
    { status: "pending" },
    { $set: { status: "running", lease: { owner, until: new Date(Date.now() + 30_000) }, started_at: new Date() }, $inc: { attempts: 1 } },
    { sort: { report_date: 1, _id: 1 }, returnDocument: "after" },
  );
  if (!claimed) throw new Error("floor: nothing to claim");
  const rows = await db.collection(FLOOR_SOURCE).aggregate(FLOOR_PIPELINE).toArray();
  await db.collection("floor_results").insertOne({ request_id: claimed._id, attempt: claimed.attempts, chunk_no: 0, first_row: 0, rows });
  await requests.updateOne(
    { _id: claimed._id, status: "running", "lease.owner": owner, attempts: claimed.attempts },
    {
      $set: {
        status: "completed",
        lease: null,
        finished_at: new Date(),
        result: { row_count: rows.length, columns: ["n", "label"], attempt: claimed.attempts },
      },
    },
  );
  await requests.findOne({ _id: insertedId });
  return performance.now() - started;
}

/** `jobs` floor jobs by `loops` concurrent loops on a fresh database of `uri`; jobs per second. */
export async function floorThroughput(
  uri: string,
  dbName: string,
  jobs: number,
  loops: number,
): Promise<{ jobs_per_s: number; ms: number }> {
  const client = await MongoClient.connect(uri, { appName: "bench-floor" });
  try {
    const db = client.db(dbName);
    await seedFloor(db);
    const owner = `floor-${new ObjectId().toHexString()}`;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: loops }, async () => {
        while (next < jobs) await floorJob(db, owner, next++);
      }),
    );
    const ms = performance.now() - t0;
    return { jobs_per_s: (jobs * 1000) / ms, ms };
  } finally {
    await client.close();
  }
}
