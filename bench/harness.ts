/**
 * Process plumbing shared by the comparison benchmarks: worker processes (ours, ours without its
 * change stream, Agenda 6, BullMQ) that print one JSON line per event, our API process, a local
 * Redis, and small waiting helpers. Every worker prints `{ time, event: "job.started" |
 * "job.completed", request_id }` lines (ours through its normal structured log), so one reader
 * serves them all: test/support/processes.ts, which the tests use too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../scripts/lib/paths.ts";
import { freePort } from "../test/support/gcs.ts";
import { spawnLogged, workerCommand, type LogEntry, type LoggedProcess } from "../test/support/processes.ts";

export { freePort };
export const DIST = path.join(REPO_ROOT, "dist");
/** Compiled bench reports (the no-op report), given to our workers through REPORTS_DIRS. */
export const BENCH_REPORTS_DIR = path.join(DIST, "bench", "reports");

export type WorkerLine = LogEntry & { time?: string; request_id?: string };

export interface WorkerProcess extends LoggedProcess {
  /** Resolves when the process said it is ready (started and listening for work). */
  ready: Promise<void>;
}

export type LineHandler = (line: WorkerLine, receivedAt: number) => void;

/** BENCH_NODE_FLAGS: flags for every Node process a benchmark starts (`--cpu-prof`, which NODE_OPTIONS refuses). */
function withBenchNodeFlags(command: string | undefined, args: string[]): string[] {
  const nodeFlags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  return nodeFlags.length > 0 && (command === undefined || command === process.execPath) ? [...nodeFlags, ...args] : args;
}

/**
 * Spawns `command args` with `env`; `readyEvent` is the log event that means "ready". Logs are not
 * kept (runs print thousands of lines): `onLine` sees each one. Lines that are not JSON and error
 * lines are copied to stderr, so a crash is visible.
 */
export function spawnBenchProcess(
  { command, args }: { command?: string; args: string[] },
  env: Record<string, string>,
  readyEvent: string,
  onLine: LineHandler,
): WorkerProcess {
  args = withBenchNodeFlags(command, args);
  const logged = spawnLogged({ command, args, env: { LOG_LEVEL: "info", ...env }, keepLogs: false, echoProblems: true, onLine });
  const ready = logged.waitFor((line) => line.event === readyEvent, 60_000).then(() => undefined);
  ready.catch(() => {}); // a caller that never awaits `ready` must not crash the run
  return { ...logged, ready };
}

/**
 * Spawns a process whose log lines go to `logFile` instead of a pipe this process reads: for
 * latency benchmarks, where the measuring client must not also be the log collector (parsing each
 * line in the event loop that times the requests, on a 2-core machine, added about 0.2 ms to a
 * request). `ready` polls the file for `readyEvent`; error lines are echoed when the process stops.
 */
export function spawnLoggingToFile(
  { command, args }: { command?: string; args: string[] },
  env: Record<string, string>,
  readyEvent: string,
  logFile: string,
): { child: ChildProcess; ready: Promise<void>; stop(): Promise<void> } {
  args = withBenchNodeFlags(command, args);
  const out = openSync(logFile, "w");
  const child = spawn(command ?? process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", out, "inherit"],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const readyLine = `"event":"${readyEvent}"`;
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    while (!readFileSync(logFile, "utf8").includes(readyLine)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${args.at(-1)} exited before ${readyEvent}`);
      if (Date.now() > deadline) throw new Error(`${args.at(-1)} did not log ${readyEvent} within 60 s`);
      await sleep(20);
    }
  })();
  ready.catch(() => {}); // a caller that never awaits `ready` must not crash the run
  return {
    child,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      for (const line of readFileSync(logFile, "utf8").split("\n"))
        if (line.includes('"level":"error"')) process.stderr.write(`${path.basename(args.at(-1) ?? "")}: ${line}\n`);
    },
  };
}

/** Environment of our worker and API processes in the benchmarks (no-op report, no request reuse). */
export function oursEnv(options: { mongoUri: string; dbName: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MONGODB_URI: options.mongoUri,
    MONGODB_DB: options.dbName,
    REPORTS_DIRS: BENCH_REPORTS_DIR,
    CATALOGUE_RELOAD_MS: "0",
    REUSE_WINDOW_S: "0",
    ...extra,
  };
}

/** Our API process (dist/src/main/api.js) on a free port; `url` once ready. */
export async function startApi(
  options: { mongoUri: string; dbName: string },
  env: Record<string, string> = {},
): Promise<WorkerProcess & { url: string }> {
  const port = await freePort();
  const api = spawnBenchProcess(
    { args: [path.join(DIST, "src", "main", "api.js")] },
    oursEnv(options, { PORT: String(port), HOST: "127.0.0.1", ...env }),
    "api.listening",
    () => {},
  );
  await api.ready;
  return { ...api, url: `http://127.0.0.1:${port}` };
}

/** Current resident set size of a live process (VmRSS), in MB; NaN once it is gone. */
export function rssMb(pid: number): number {
  try {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
    return Math.round(kb / 102.4) / 10;
  } catch {
    return Number.NaN;
  }
}

export type WorkerKind = "ours" | "ours-sweep-only" | "agenda-changestream" | "agenda-polling" | "bullmq";

export interface WorkerOptions {
  mongoUri?: string;
  dbName?: string;
  redisPort?: number;
  queue?: string;
  /** Jobs one process runs at once (the same number for every system). */
  concurrency: number;
  /** Our SWEEP_MS, Agenda's processEvery (ms); undefined: each system's default. */
  pollMs?: number;
  /** More environment for our workers. */
  env?: Record<string, string>;
}

/** Starts one worker process of `kind`; `ready` resolves when it can take jobs. */
export function startWorker(kind: WorkerKind, options: WorkerOptions, onLine: LineHandler): WorkerProcess {
  const concurrency = String(options.concurrency);
  switch (kind) {
    case "ours":
    case "ours-sweep-only":
      return spawnBenchProcess(
        kind === "ours" ? workerCommand("node") : { args: [path.join(DIST, "bench", "worker-sweep-only.js")] },
        oursEnv(
          { mongoUri: options.mongoUri!, dbName: options.dbName! },
          {
            WORKER_CONCURRENCY: concurrency,
            ...(options.pollMs === undefined ? {} : { SWEEP_MS: String(options.pollMs) }),
            ...options.env,
          },
        ),
        "worker.started",
        onLine,
      );
    case "agenda-changestream":
    case "agenda-polling":
      return spawnBenchProcess(
        { args: [path.join(DIST, "bench", "worker-agenda.js")] },
        {
          MONGODB_URI: options.mongoUri!,
          MONGODB_DB: options.dbName!,
          AGENDA_MODE: kind === "agenda-changestream" ? "changestream" : "polling",
          CONCURRENCY: concurrency,
          ...(options.pollMs === undefined ? {} : { PROCESS_EVERY_MS: String(options.pollMs) }),
        },
        "worker.started",
        onLine,
      );
    case "bullmq":
      return spawnBenchProcess(
        { args: [path.join(DIST, "bench", "worker-bullmq.js")] },
        { REDIS_PORT: String(options.redisPort), QUEUE: options.queue!, CONCURRENCY: concurrency },
        "worker.started",
        onLine,
      );
  }
}

export interface LocalRedis {
  port: number;
  stop(): Promise<void>;
}

/** Debian's redis-server on a free loopback port, no persistence; stopped by `stop()` or when this process exits. */
export async function startRedis(): Promise<LocalRedis> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const onExit = () => child.kill("SIGKILL");
  process.once("exit", onExit);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start within 20 s")), 20_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off("exit", onExit);
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every `everyMs` until it holds; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Median, p95 and extremes of a list, rounded to 0.1 ms for the results file. */
export function summarise(values: number[], percentile: (v: number[], p: number) => number) {
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    n: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}
