/**
 * b) Throughput: no-op jobs completed per second with 1, 2 and 4 worker processes, for
 *   - ours (change stream + default sweep; the no-op report from bench/reports),
 *   - Agenda 6 on the same test server, with MongoChangeStreamNotificationChannel (its fastest
 *     multi-process setup: with polling alone a job waits up to processEvery = 5 s),
 *   - BullMQ on a local Redis (Debian's redis-server, loopback, no persistence),
 *   - the floor (bench/floor.ts): the bare driver doing each job's steps, CONCURRENCY x processes
 *     loops in one client, and the same loops spread over as many processes as ours has
 *     (`floor-processes`), which shows what the split into processes costs on this machine alone.
 * Each process runs CONCURRENCY jobs at once (the same for all). The workers start idle; then
 * PRODUCERS concurrent loops enqueue WARMUP_JOBS jobs one insert/add at a time and the run waits
 * for them, then MIN_RUN_S seconds' worth more (at the warm-up's rate, within JOBS..MAX_JOBS) are
 * enqueued the same way and timed: throughput = those jobs / (time from the first timed enqueue to
 * the last job.completed line). Each system has its own test server for the
 * whole benchmark, with a fresh database per measurement (dropped after it), and warmed once before
 * the first: a fresh JVM spends most of a short run compiling (its compiler threads took 3.5 of
 * 6 ms of server CPU per job in a 400-job run), which MongoDB, compiled ahead of time, never pays,
 * and which would otherwise weigh on whichever system exercises more of the server's code. The
 * order of systems rotates each round; reported numbers are medians over ROUNDS.
 * `npm run bench:throughput`
 */
import process from "node:process";
import { MongoClient } from "mongodb";
import { Agenda } from "agenda";
import { MongoBackend } from "@agendajs/mongo-backend";
import { Queue } from "bullmq";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";
import { startEmbeddedMongo, type EmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { DIST, spawnBenchProcess, startRedis, startWorker, sleep, until, type WorkerKind, type WorkerProcess } from "./harness.ts";
import { floorThroughput, seedFloor } from "./floor.ts";
import { median, writeResults } from "./lib.ts";
import os from "node:os";
import path from "node:path";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** The fewest jobs a measurement times; more when the system is fast (MIN_RUN_S). */
const JOBS = Number(process.env.JOBS ?? 1000);
/**
 * Each measurement times at least this many seconds of jobs (sized from the warm-up's rate, at most
 * MAX_JOBS): a run of a second or two is mostly ramp-up and drain (ours measured 0.55x the floor
 * over 1,000 jobs and 0.83x over 10,000 in one session), and would favour whichever system ramps
 * fastest rather than the one that sustains more.
 */
const MIN_RUN_S = Number(process.env.MIN_RUN_S ?? 8);
const MAX_JOBS = Number(process.env.MAX_JOBS ?? 40_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const PRODUCERS = Number(process.env.PRODUCERS ?? 4);
const PROCESS_COUNTS = (process.env.PROCESS_COUNTS ?? "1,2,4").split(",").map(Number);
/** Jobs run and waited for before the timed ones, in each measurement (the workers' own warm-up). */
const WARMUP_JOBS = Number(process.env.WARMUP_JOBS ?? 200);
/** Jobs each system's test server runs before the first measurement (the JVM's warm-up). */
const SERVER_WARMUP_JOBS = Number(process.env.SERVER_WARMUP_JOBS ?? 2000);

type SystemName = "ours" | "agenda" | "bullmq" | "floor" | "floor-processes" | "ours-no-stream" | "agenda-polling-100ms";
interface System {
  name: SystemName;
  kind: WorkerKind;
  description: string;
  pollMs?: number;
}
const ALL_SYSTEMS: System[] = [
  { name: "ours", kind: "ours", description: "ours: change stream + sweep (default SWEEP_MS), no-op report bench-noop" },
  {
    name: "agenda",
    kind: "agenda-changestream",
    description: "Agenda 6 + MongoChangeStreamNotificationChannel, no-op handler, same test server",
  },
  { name: "bullmq", kind: "bullmq", description: "BullMQ on local redis-server (Debian), no-op processor" },
  {
    name: "floor",
    kind: "ours",
    description:
      "the floor (bench/floor.ts): CONCURRENCY x processes loops in one client, each doing a job's six steps with the bare driver (insert, claim, aggregate a row, store it, final status, read), same test server",
  },
  {
    name: "floor-processes",
    kind: "ours",
    description:
      "the same floor spread over processes as ours is (bench/floor-process.ts): one process per worker process, CONCURRENCY loops in each, all started together, timed over MIN_RUN_S",
  },
];
/** `SYSTEMS=ours,floor` measures only those (a quick comparison; the ratios need all of them). */
const SYSTEMS = process.env.SYSTEMS ? ALL_SYSTEMS.filter((s) => process.env.SYSTEMS!.split(",").includes(s.name)) : ALL_SYSTEMS;
/**
 * Diagnostic, not a target: both Mongo systems without any change stream (ours woken by a 100 ms
 * sweep, Agenda polling every 100 ms), to show what the test server's busy-looping change streams
 * cost each of them.
 */
const DIAGNOSTIC: System[] = [
  { name: "ours-no-stream", kind: "ours-sweep-only", pollMs: 100, description: "ours without change stream, SWEEP_MS=100" },
  { name: "agenda-polling-100ms", kind: "agenda-polling", pollMs: 100, description: "Agenda 6 without change stream, processEvery 100 ms" },
];
const DIAGNOSTIC_ROUNDS = Number(process.env.DIAGNOSTIC_ROUNDS ?? 3);
const DIAGNOSTIC_PROCESS_COUNTS = [1, 4];

interface Producer {
  enqueue(i: number): Promise<void>;
  close(): Promise<void>;
}

const redis = await startRedis();
let queueCounter = 0;
/** Each Mongo system's own test server, started and warmed on first use, stopped at the end. */
const servers = new Map<SystemName, EmbeddedMongo>();

async function serverFor(system: System): Promise<EmbeddedMongo | undefined> {
  if (system.name === "bullmq") return undefined;
  let server = servers.get(system.name);
  if (server) return server;
  server = await startEmbeddedMongo();
  servers.set(system.name, server);
  const warmed = await measure(system, server, 1, SERVER_WARMUP_JOBS);
  console.log(JSON.stringify({ event: "bench.throughput.server_warmed", system: system.name, ...warmed }));
  return server;
}

interface Measured {
  jobs_per_s: number;
  ms: number;
  jobs: number;
}

async function run(system: System, processes: number): Promise<Measured> {
  return measure(system, await serverFor(system), processes, "sized");
}

/** How many jobs to time after a warm-up that ran at `warmRate` jobs/s: MIN_RUN_S worth, within JOBS..MAX_JOBS. */
function timedJobs(warmRate: number): number {
  return Math.min(MAX_JOBS, Math.max(JOBS, Math.round(warmRate * MIN_RUN_S)));
}

let databaseCounter = 0;
async function measure(system: System, server: EmbeddedMongo | undefined, processes: number, jobs: number | "sized"): Promise<Measured> {
  const dbName = `throughput_${system.name}_${++databaseCounter}`;
  try {
    return await measureOn(system, server, dbName, processes, jobs);
  } finally {
    if (server) {
      const client = await MongoClient.connect(server.uri);
      await client.db(dbName).dropDatabase();
      await client.close();
    }
  }
}

async function measureOn(
  system: System,
  server: EmbeddedMongo | undefined,
  dbName: string,
  processes: number,
  size: number | "sized",
): Promise<Measured> {
  if (system.name === "floor-processes") {
    const durationMs = MIN_RUN_S * 1000;
    const warmupJobsEach = Math.ceil(WARMUP_JOBS / processes);
    return floorInProcesses(server!.uri, dbName, { processes, loopsEach: CONCURRENCY, durationMs, warmupJobsEach });
  }
  if (system.name === "floor") {
    const warm = await floorThroughput(server!.uri, dbName, WARMUP_JOBS, CONCURRENCY * processes);
    const jobs = size === "sized" ? timedJobs(warm.jobs_per_s) : size;
    return { ...(await floorThroughput(server!.uri, dbName, jobs, CONCURRENCY * processes)), jobs };
  }
  const queue = `bench-${process.pid}-${++queueCounter}`;
  let completed = 0;
  let lastCompletion = 0;
  const workers: WorkerProcess[] = [];
  let producer: Producer | undefined;
  try {
    for (let i = 0; i < processes; i++) {
      workers.push(
        startWorker(
          system.kind,
          { mongoUri: server?.uri, dbName, redisPort: redis.port, queue, concurrency: CONCURRENCY, pollMs: system.pollMs },
          (line, receivedAt) => {
            if (line.event === "job.completed") {
              completed += 1;
              lastCompletion = receivedAt;
            }
          },
        ),
      );
    }
    producer = await producerFor(system.name, server?.uri, dbName, queue);
    await Promise.all(workers.map((w) => w.ready));
    let next = 0;
    const enqueue = async (upTo: number) => {
      await Promise.all(
        Array.from({ length: PRODUCERS }, async () => {
          while (next < upTo) await producer!.enqueue(next++);
        }),
      );
    };
    const warmStarted = Date.now();
    await enqueue(WARMUP_JOBS);
    await until(() => completed >= WARMUP_JOBS, 180_000, `${system.name} x${processes}: ${WARMUP_JOBS} warm-up completions`, 10);
    const jobs = size === "sized" ? timedJobs((WARMUP_JOBS * 1000) / Math.max(1, lastCompletion - warmStarted)) : size;
    await sleep(200);
    const t0 = Date.now();
    await enqueue(WARMUP_JOBS + jobs);
    await until(() => completed >= WARMUP_JOBS + jobs, 180_000, `${system.name} x${processes}: ${jobs} completions`, 10);
    const ms = lastCompletion - t0;
    if (completed > WARMUP_JOBS + jobs) throw new Error(`${system.name}: ${completed} completions for ${WARMUP_JOBS + jobs} jobs`);
    return { jobs_per_s: (jobs * 1000) / ms, ms, jobs };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await producer?.close();
  }
}

/**
 * The floor spread over `processes` processes of `loopsEach` loops (bench/floor-process.ts), as
 * ours spreads its jobs over worker processes: all start together and run for `durationMs`; jobs
 * per second is their finished jobs over the longest one's time. Against `floorThroughput` with
 * the same loops in one process, it shows what splitting the same work into processes costs on
 * this machine by itself.
 */
async function floorInProcesses(
  uri: string,
  dbName: string,
  options: { processes: number; loopsEach: number; durationMs: number; warmupJobsEach: number },
): Promise<{ jobs_per_s: number; ms: number; jobs: number }> {
  const client = await MongoClient.connect(uri, { appName: "bench-floor" });
  try {
    await seedFloor(client.db(dbName));
  } finally {
    await client.close();
  }
  const children = Array.from({ length: options.processes }, () =>
    spawnBenchProcess(
      { args: [path.join(DIST, "bench", "floor-process.js")] },
      {
        MONGODB_URI: uri,
        MONGODB_DB: dbName,
        LOOPS: String(options.loopsEach),
        DURATION_MS: String(options.durationMs),
        WARMUP_JOBS: String(options.warmupJobsEach),
      },
      "worker.started",
      () => {},
    ),
  );
  try {
    await Promise.all(children.map((child) => child.ready));
    const done = children.map((child) => child.waitFor((line) => line.event === "floor.done", options.durationMs + 60_000));
    for (const child of children) child.child.kill("SIGUSR2");
    const results = (await Promise.all(done)) as unknown as { jobs: number; ms: number }[];
    const jobs = results.reduce((sum, r) => sum + r.jobs, 0);
    const ms = Math.max(...results.map((r) => r.ms));
    return { jobs_per_s: (jobs * 1000) / ms, ms, jobs };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

async function producerFor(name: SystemName, uri: string | undefined, dbName: string, queue: string): Promise<Producer> {
  if (name.startsWith("ours")) {
    const database = await connect(uri!, dbName, "bench-producer");
    await ensureIndexes(database);
    const store = new RequestStore(database.requests, await requestSealOf(database.db));
    return {
      enqueue: async (i) => void (await store.submit({ report_name: "bench-noop", params: { i }, output: "json" })),
      close: () => database.close(),
    };
  }
  if (name.startsWith("agenda")) {
    const client = await MongoClient.connect(uri!, { appName: "bench-producer" });
    const agenda = new Agenda({ backend: new MongoBackend({ mongo: client.db(dbName) }) });
    await agenda.ready;
    return { enqueue: async (i) => void (await agenda.now("bench-noop", { i })), close: () => client.close() };
  }
  const bull = new Queue(queue, { connection: { host: "127.0.0.1", port: redis.port } });
  await bull.waitUntilReady();
  return { enqueue: async (i) => void (await bull.add("bench-noop", { i })), close: () => bull.close() };
}

const diagnostic: Record<string, Record<number, number[]>> = {};
/** The 1-minute load average after each measurement: the machine is shared. */
const loads: number[] = [];
/** Every timed measurement, as run (the results file keeps them beside the medians). */
const measurements: ({ round: number; system: SystemName; processes: number } & Measured)[] = [];
const rates: Record<string, Record<number, number[]>> = Object.fromEntries(
  SYSTEMS.map((s) => [s.name, Object.fromEntries(PROCESS_COUNTS.map((n) => [n, []]))]),
);
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const processes of PROCESS_COUNTS) {
      const order = SYSTEMS.map((_, i) => SYSTEMS[(i + round) % SYSTEMS.length]);
      for (const system of order) {
        const result = await run(system, processes);
        rates[system.name][processes].push(result.jobs_per_s);
        measurements.push({ round, system: system.name, processes, ...result });
        const load = os.loadavg()[0];
        loads.push(load);
        console.log(JSON.stringify({ event: "bench.throughput.run", round, system: system.name, processes, load, ...result }));
      }
    }
  }
  for (let round = 0; round < DIAGNOSTIC_ROUNDS; round++) {
    for (const processes of DIAGNOSTIC_PROCESS_COUNTS) {
      for (const system of round % 2 === 0 ? DIAGNOSTIC : [...DIAGNOSTIC].reverse()) {
        const result = await run(system, processes);
        ((diagnostic[system.name] ??= {})[processes] ??= []).push(result.jobs_per_s);
        console.log(JSON.stringify({ event: "bench.throughput.diagnostic", round, system: system.name, processes, ...result }));
      }
    }
  }
} finally {
  await redis.stop();
  await Promise.all([...servers.values()].map((server) => server.stop()));
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const table = PROCESS_COUNTS.map((processes) => {
  const row: Record<string, unknown> = { processes };
  for (const s of SYSTEMS) row[`${s.name}_jobs_per_s`] = round1(median(rates[s.name][processes]));
  const ours = median(rates.ours[processes]);
  const ratio = (other: SystemName) => (rates[other] ? Math.round((ours / median(rates[other][processes])) * 100) / 100 : null);
  row.ours_over_agenda = ratio("agenda");
  row.ours_over_bullmq = ratio("bullmq");
  row.ours_over_floor = ratio("floor");
  row.ours_over_floor_processes = ratio("floor-processes");
  const atLeast = (other: SystemName, factor: number) => (rates[other] ? ours >= factor * median(rates[other][processes]) : null);
  row.target_ours_ge_2x_agenda_met = atLeast("agenda", 2);
  row.target_ours_ge_floor_met = atLeast("floor", 1);
  row.target_ours_ge_half_bullmq_met = atLeast("bullmq", 0.5);
  return row;
});
const file = writeResults("throughput", {
  method:
    `no-op jobs per measurement: at least ${MIN_RUN_S} s worth at the rate of the measurement's own warm-up (at least ${JOBS}, at most ${MAX_JOBS}), enqueued by ${PRODUCERS} concurrent producer loops (one insert/add per job) into workers that have just run ${WARMUP_JOBS} (waited for, not timed); ` +
    `jobs/s = timed jobs / (first timed enqueue → last job.completed line); each worker process runs ${CONCURRENCY} jobs at once; ` +
    `one test server per Mongo system for the whole run, warmed with ${SERVER_WARMUP_JOBS} jobs before its first measurement, a fresh database per measurement; medians over rounds`,
  rounds: ROUNDS,
  load_average_during: { min: Math.min(...loads), max: Math.max(...loads), median: median(loads) },
  systems: Object.fromEntries(SYSTEMS.map((s) => [s.name, s.description])),
  results: table,
  diagnostic_without_change_streams: {
    note: "not a target: the same jobs with no change stream anywhere (ours woken by a 100 ms sweep and by its own finished jobs, Agenda polling every 100 ms), to show what the change streams cost here",
    rounds: DIAGNOSTIC_ROUNDS,
    systems: Object.fromEntries(DIAGNOSTIC.map((s) => [s.name, s.description])),
    median_jobs_per_s: Object.fromEntries(
      Object.entries(diagnostic).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([n, r]) => [n, round1(median(r))]))]),
    ),
  },
  measurements: measurements.map((m) => ({ ...m, jobs_per_s: round1(m.jobs_per_s) })),
  per_run_jobs_per_s: Object.fromEntries(
    Object.entries(rates).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([n, r]) => [n, r.map(round1)]))]),
  ),
});
console.log(JSON.stringify({ event: "bench.done", file, results: table }));
process.exit(0);
