/**
 * Does a job's cost grow with history? Every query the service runs per job or per interval on
 * `report_requests` timed with HISTORY finished requests kept, at each size of HISTORY_SIZES, on
 * one embedded test server: per job the submit (insert), the claim of a pending request, a batch claim, the look for
 * expired leases, a status read by `_id`, the completion (a fenced update), the reuse look-up and
 * the owner's queued count at submit; per interval the queue-depth counts (`/metrics`), KEDA's
 * workload count, the retention sweeper's look (nothing expired yet) and the webhook outbox's claim
 * (nothing due). On MongoDB each is served by an index (src/requests/README.md) and costs the same
 * at any history; the imitation serves the equalities those indexes lead with from position sets
 * (scripts/mongo-server/EqualityIndex.java) for the same reason.
 * `node dist/bench/claim-history.js`
 */
import process from "node:process";
import { type Filter, ObjectId } from "mongodb";
import type { RequestDocument } from "../src/requests/document.ts";
import { fingerprint } from "../src/requests/fingerprint.ts";
import { BACKING_OFF, DUE_PENDING, RUNNING, WORKLOAD } from "../src/requests/queue-depth.ts";
import type { RequestStore } from "../src/requests/store.ts";
import { startStoreBench } from "./store-bench.ts";
import { WebhookOutbox } from "../src/webhooks/outbox.ts";
import { growth, p50ByName, timeMs, writeResults } from "./lib.ts";

const SIZES = (process.env.HISTORY_SIZES ?? "1000,10000,40000").split(",").map(Number);
const SAMPLES = Number(process.env.SAMPLES ?? 60);

const { database, store, addRequests, finish } = await startStoreBench("bench_claim_history", "bench-claim-history");
const outbox = new WebhookOutbox(database.requests);
const OWNER = "bench-owner";
/** The submit the reuse look-up is timed for: the same report and params as one request of the history. */
const resubmitted = { report_name: "bench-noop", params: { i: 0 }, output: "json" as const, owner: OWNER };
/** The retention sweeper's look while nothing has expired: before the oldest finished request. */
const RETENTION_BEFORE = new Date(Date.now() - 3_600_000);

function addHistory(count: number): Promise<void> {
  const finished = new Date();
  return addRequests(count, (i) => ({
    report_name: "bench-noop",
    params: { i },
    output: "json" as const,
    owner: OWNER,
    fingerprint: fingerprint({ ...resubmitted, params: { i } }),
    // One in ten had a webhook, delivered.
    ...(i % 10 === 0
      ? {
          callback: {
            url: "http://127.0.0.1:9/",
            webhook_id: "msg_bench",
            state: "delivered" as const,
            attempts: 1,
            next_at: finished,
          },
        }
      : {}),
    status: "completed" as const,
    report_date: finished,
    attempts: 1,
    lease: null,
    finished_at: finished,
    result: { row_count: 1, columns: ["n"], attempt: 1, rows_per_chunk: 1000, rows: [{ n: 1 }] },
  }));
}

const results: Record<string, Record<string, number>> = {};
let history = 0;
// The first pass warms the JIT (server and client) and is not recorded.
for (const [pass, size] of [SIZES[0], ...SIZES].entries()) {
  await addHistory(size - history);
  history = size;
  const samples: Record<string, number[]> = {
    claim: [],
    batch_claim_4: [],
    expired_leases: [],
    read_by_id: [],
    complete: [],
    submit: [],
    reuse_lookup: [],
    count_queued_owner: [],
    queue_depth_3_counts: [],
    keda_workload_count: [],
    retention_look: [],
    outbox_claim: [],
  };
  for (let i = 0; i < SAMPLES; i++) {
    await database.requests.insertMany(
      Array.from({ length: 4 }, () => ({
        _id: new ObjectId(),
        report_name: "bench-noop",
        params: {},
        output: "json" as const,
        owner: OWNER,
        status: "pending" as const,
        report_date: new Date(),
        not_before: new Date(),
        attempts: 0,
        lease: null,
      })),
    );
    // The fifth pending request as the API inserts it (sealed, w: majority).
    samples.submit.push(await timeMs(() => store.submit({ ...resubmitted, params: { round: i } })));
    samples.reuse_lookup.push(await timeMs(() => store.findReusable(resubmitted, new Date(Date.now() - 3_600_000))));
    samples.count_queued_owner.push(await timeMs(() => store.countQueued(OWNER)));
    samples.queue_depth_3_counts.push(
      await timeMs(async () => {
        for (const filter of [DUE_PENDING, BACKING_OFF, RUNNING]) await database.requests.countDocuments(filter);
      }),
    );
    samples.keda_workload_count.push(await timeMs(() => database.requests.countDocuments(WORKLOAD as unknown as Filter<RequestDocument>)));
    samples.retention_look.push(await timeMs(() => store.expired(RETENTION_BEFORE, 500)));
    samples.outbox_claim.push(await timeMs(() => outbox.claim("bench", 30_000)));
    let one: Awaited<ReturnType<RequestStore["claimPending"]>> = null;
    samples.claim.push(await timeMs(async () => (one = await store.claimPending("bench", 30_000))));
    samples.batch_claim_4.push(await timeMs(() => store.claimPendingBatch("bench", 30_000, 4)));
    samples.expired_leases.push(await timeMs(() => store.claimExpired("bench", 30_000)));
    samples.read_by_id.push(await timeMs(() => store.get(one!._id)));
    const claim = { id: one!._id, owner: "bench", attempt: one!.attempts };
    samples.complete.push(
      await timeMs(() => store.complete(claim, { row_count: 0, columns: [], attempt: claim.attempt, rows_per_chunk: 1000, rows: [] })),
    );
    // Finish the batch's four too, so the pending set stays small as on a healthy queue.
    await database.requests.updateMany({ status: "running" }, { $set: { status: "completed", lease: null, finished_at: new Date() } });
  }
  if (pass === 0) continue;
  results[String(size)] = p50ByName(samples, 2);
  console.log(JSON.stringify({ event: "bench.claim_history", history: size, ...results[String(size)] }));
}
const [first, last] = [results[String(SIZES[0])], results[String(SIZES.at(-1))]];
const largestOverSmallest = growth(first, last);
// The machine is shared: a read by _id (cost independent of history on any server) is the yardstick.
const overReadById = Object.fromEntries(
  Object.entries(results).map(([size, r]) => [size, Math.round((r.claim_p50_ms / r.read_by_id_p50_ms) * 100) / 100]),
);
const file = writeResults("claim-history", {
  method: `a warm-up pass, then finished requests added as history (${SIZES.join(", ")}; all of one owner, one in ten with a delivered webhook); at each size ${SAMPLES} rounds of: insert 4 pending and submit a fifth as the API does, look for a reusable result (a fingerprint the history holds once), count the owner's queued requests, the three queue-depth counts, KEDA's workload count, the retention look (nothing expired), the outbox claim (nothing due), claim one, batch-claim 4, look for expired leases, read one by _id, complete one; p50 per query`,
  p50_ms_by_history: results,
  largest_over_smallest: largestOverSmallest,
  claim_over_read_by_id: overReadById,
});
console.log(JSON.stringify({ event: "bench.done", file, largest_over_smallest: largestOverSmallest }));
await finish();
