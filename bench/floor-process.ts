/**
 * One process of the floor spread over processes (`floorInProcesses` in bench/throughput.ts): LOOPS
 * bare-driver loops doing floor jobs, in a process of its own, as ours runs CONCURRENCY jobs in
 * each worker process. It runs WARMUP_JOBS first, logs `worker.started`, and on SIGUSR2 (the
 * parent's start, sent to every process at once) runs jobs for DURATION_MS, then logs
 * `floor.done` with how many it finished and exits. Timed by count in a fixed window, not by a
 * share of jobs each, so one process finishing early leaves no idle tail in the measurement.
 */
import process from "node:process";
import { MongoClient, ObjectId } from "mongodb";
import { floorJob } from "./floor.ts";

const client = await MongoClient.connect(process.env.MONGODB_URI!, { appName: "bench-floor-process" });
const db = client.db(process.env.MONGODB_DB);
const loops = Number(process.env.LOOPS ?? 4);
const owner = `floor-${new ObjectId().toHexString()}`;
// A parent that died before its start signal must not leave this process behind.
setTimeout(() => process.exit(1), 10 * 60_000).unref();

async function runLoops(keepGoing: () => boolean): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (keepGoing()) {
        await floorJob(db, owner, done);
        done += 1;
      }
    }),
  );
  return done;
}

let warmed = 0;
const warmupJobs = Number(process.env.WARMUP_JOBS ?? 50);
await runLoops(() => warmed++ < warmupJobs);

process.once("SIGUSR2", () => {
  const started = performance.now();
  const deadline = started + Number(process.env.DURATION_MS ?? 8000);
  void runLoops(() => performance.now() < deadline).then(async (jobs) => {
    console.log(JSON.stringify({ event: "floor.done", jobs, ms: performance.now() - started }));
    await client.close();
    process.exit(0);
  });
});
console.log(JSON.stringify({ event: "worker.started", loops }));
