/**
 * Does a job's cost grow with the backlog? The per-job writes on `report_requests` timed while
 * BACKLOG pending requests wait, at each size of BACKLOG_SIZES, on one embedded test server: the
 * claim of one request, a batch claim of 4, a lease renewal (the heartbeat: no indexed field
 * changes), and the completion (a fenced update that moves the request out of the pending and
 * running indexes). On MongoDB the claim reads the partial index `pending_due` in order and stops
 * at its limit, and an update touches only the index keys that changed, so none of these grows
 * with the backlog. A burst (bench:worker-profile inserts thousands at once) is where the test
 * server's imitation of those indexes is tested.
 * `node dist/bench/claim-backlog.js`
 */
import process from "node:process";
import { RequestStatus } from "../src/requests/status.ts";
import type { RequestStore } from "../src/requests/store.ts";
import { startStoreBench } from "./store-bench.ts";
import { growth, p50ByName, timeMs, writeResults } from "./lib.ts";

const SIZES = (process.env.BACKLOG_SIZES ?? "100,2000,20000").split(",").map(Number);
const SAMPLES = Number(process.env.SAMPLES ?? 200);
const LEASE_MS = 30_000;

const { database, store, addRequests, finish } = await startStoreBench("bench_claim_backlog", "bench-claim-backlog");

/** `count` pending requests shaped as the API inserts them (report date now, due now). */
function addPending(count: number): Promise<void> {
  const now = new Date();
  return addRequests(count, (i) => ({
    report_name: "bench-noop",
    params: { i },
    output: "json" as const,
    status: RequestStatus.Pending,
    report_date: now,
    not_before: now,
    attempts: 0,
    lease: null,
  }));
}

const results: Record<string, Record<string, number>> = {};
let backlog = 0;
// The first pass warms the JIT (server and client) and is not recorded.
for (const [pass, size] of [SIZES[0], ...SIZES].entries()) {
  await addPending(Math.max(0, size - backlog));
  backlog = Math.max(backlog, size);
  const samples: Record<string, number[]> = { claim: [], batch_claim_4: [], renew: [], complete: [] };
  for (let i = 0; i < SAMPLES; i++) {
    let one: Awaited<ReturnType<RequestStore["claimPending"]>> = null;
    samples.claim.push(await timeMs(async () => (one = await store.claimPending("bench", LEASE_MS))));
    samples.batch_claim_4.push(await timeMs(() => store.claimPendingBatch("bench", LEASE_MS, 4)));
    const claim = { id: one!._id, owner: "bench", attempt: one!.attempts };
    samples.renew.push(await timeMs(() => store.renew(claim, LEASE_MS)));
    samples.complete.push(
      await timeMs(() => store.complete(claim, { row_count: 0, columns: [], attempt: claim.attempt, rows_per_chunk: 1000, rows: [] })),
    );
    // What this round claimed is finished and replaced, so the backlog stays at its size.
    await database.requests.updateMany({ status: RequestStatus.Running }, { $set: { status: RequestStatus.Completed, lease: null } });
    await addPending(5);
  }
  if (pass === 0) continue;
  results[String(size)] = p50ByName(samples, 3);
  console.log(JSON.stringify({ event: "bench.claim_backlog", backlog: size, ...results[String(size)] }));
}
const [first, last] = [results[String(SIZES[0])], results[String(SIZES.at(-1))]];
const largestOverSmallest = growth(first, last);
const file = writeResults("claim-backlog", {
  method: `a warm-up pass, then pending requests waiting (${SIZES.join(", ")}; each round's claims finished and replaced, so the backlog keeps its size); at each size ${SAMPLES} rounds of: claim one, batch-claim 4, renew the first one's lease, complete it; p50 per write`,
  p50_ms_by_backlog: results,
  largest_over_smallest: largestOverSmallest,
});
console.log(JSON.stringify({ event: "bench.done", file, largest_over_smallest: largestOverSmallest }));
await finish();
