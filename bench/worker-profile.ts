/**
 * Where the worker processes spend their CPU per job: JOBS one-row no-op requests are inserted at
 * once into WORKERS idle workers (1 by default) started with `node --cpu-prof`; each worker's
 * profile (.cpuprofile, open it in Chrome's DevTools) is written to PROFILE_DIR when it exits, with
 * the workers' CPU time per job (from /proc, summed) and the test server's beside it.
 * `npm run build:dev && node dist/bench/worker-profile.js`
 */
import { readFileSync, readdirSync, mkdirSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import os from "node:os";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { workerCommand } from "../test/support/processes.ts";
import { oursEnv, spawnBenchProcess, until } from "./harness.ts";

const JOBS = Number(process.env.JOBS ?? 400);
/** Jobs run first and not measured (the worker's and the test server's JIT warm up on them). */
const WARMUP_JOBS = Number(process.env.WARMUP_JOBS ?? 0);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
/** Worker processes sharing the jobs (their CPU is summed): how the cost per job changes as processes are added. */
const WORKERS = Number(process.env.WORKERS ?? 1);
/**
 * SWEEP_ONLY=1: the workers have no change stream (bench/worker-sweep-only.ts, SWEEP_MS 100), so a
 * paired run shows what the stream costs per job, in the workers and in the test server.
 */
const SWEEP_ONLY = process.env.SWEEP_ONLY === "1";
/** CPU_PROF=0: no profile, only the figures (the profiler itself costs CPU). */
const PROFILE = process.env.CPU_PROF !== "0";
const PROFILE_DIR = path.resolve(process.env.PROFILE_DIR ?? path.join(os.tmpdir(), "worker-profile"));
mkdirSync(PROFILE_DIR, { recursive: true });

/** CPU ms by thread name of a live process (the JVM's compiler and collector threads apart from its request threads). */
function cpuByThread(pid: number): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
      const name = stat
        .slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
        .replace(/[0-9#-]+$/, "")
        .trim();
      const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
      byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

/** User + system CPU of a live process, in ms (from /proc/PID/stat; clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const server = await startEmbeddedMongo();
const dbName = "worker_profile";
let completed = 0;
let last = 0;
/** Timed completions by worker process: how evenly a burst spreads over them. */
const completedBy: number[] = Array.from({ length: WORKERS }, () => 0);
const command = SWEEP_ONLY
  ? { command: process.execPath, args: [path.join(import.meta.dirname, "worker-sweep-only.js")] }
  : workerCommand("node");
const workers = Array.from({ length: WORKERS }, (_, index) =>
  spawnBenchProcess(
    { command: command.command, args: [...(PROFILE ? [`--cpu-prof`, `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...command.args] },
    oursEnv({ mongoUri: server.uri, dbName }, { WORKER_CONCURRENCY: String(CONCURRENCY), ...(SWEEP_ONLY ? { SWEEP_MS: "100" } : {}) }),
    "worker.started",
    (line, at) => {
      if (line.event === "job.completed") {
        completed += 1;
        completedBy[index] += 1;
        last = at;
      }
    },
  ),
);
const workersCpuMs = () => workers.reduce((sum, worker) => sum + cpuMs(worker.child.pid!), 0);
const database = await connect(server.uri, dbName, "bench-producer");
await ensureIndexes(database);
const store = new RequestStore(database.requests, await requestSealOf(database.db));
await Promise.all(workers.map((worker) => worker.ready));
const submitAll = (count: number, from: number) =>
  Promise.all(
    Array.from({ length: count }, (_, i) => store.submit({ report_name: "bench-noop", params: { i: from + i }, output: "json" })),
  );
if (WARMUP_JOBS > 0) {
  await submitAll(WARMUP_JOBS, 0);
  await until(() => completed >= WARMUP_JOBS, 300_000, `${WARMUP_JOBS} warm-up completions`, 10);
  completed = 0;
  completedBy.fill(0);
}
const serverPid = server.process.pid!;
const cpuBefore = workersCpuMs();
const serverCpuBefore = cpuMs(serverPid);
const serverThreadsBefore = cpuByThread(serverPid);
const producerCpuBefore = process.cpuUsage();
const t0 = Date.now();
await submitAll(JOBS, WARMUP_JOBS);
await until(() => completed >= JOBS, 300_000, `${JOBS} completions`, 10);
const cpuAfter = workersCpuMs();
const serverCpuAfter = cpuMs(serverPid);
const serverThreads = Object.entries(cpuByThread(serverPid))
  .map(([name, ms]) => [name, Math.round(((ms - (serverThreadsBefore[name] ?? 0)) / JOBS) * 100) / 100] as const)
  .filter(([, perJob]) => perJob > 0)
  .sort((a, b) => b[1] - a[1]);
const producerCpu = process.cpuUsage(producerCpuBefore);
for (const worker of workers) worker.child.kill("SIGTERM");
await Promise.all(workers.map((worker) => worker.exited));
await database.close();
await server.stop();
console.log(
  JSON.stringify({
    event: "bench.worker_profile.done",
    jobs: JOBS,
    workers: WORKERS,
    change_stream: !SWEEP_ONLY,
    jobs_per_s: Math.round((JOBS * 1000 * 10) / (last - t0)) / 10,
    jobs_by_worker: completedBy,
    // All worker processes together.
    worker_cpu_ms_per_job: Math.round(((cpuAfter - cpuBefore) / JOBS) * 100) / 100,
    // The test server's and this producer's share: on 2 cores the three together bound throughput.
    server_cpu_ms_per_job: Math.round(((serverCpuAfter - serverCpuBefore) / JOBS) * 100) / 100,
    server_cpu_ms_per_job_by_thread: Object.fromEntries(serverThreads),
    producer_cpu_ms_per_job: Math.round(((producerCpu.user + producerCpu.system) / 1000 / JOBS) * 100) / 100,
    load_average: os.loadavg(),
    profile_dir: PROFILE ? PROFILE_DIR : null,
  }),
);
process.exit(0);
