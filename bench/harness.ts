/**
 * Process plumbing shared by the comparison benchmarks: worker processes (ours, ours without its
 * change stream, Agenda 6, BullMQ) that print one JSON line per event, a local Redis, and small
 * waiting helpers. Every worker prints `{ time, event: "job.started" | "job.completed",
 * request_id }` lines (ours through its normal structured log), so one reader serves them all.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../scripts/lib/paths.ts";

export const DIST = path.join(REPO_ROOT, "dist");
/** Compiled bench reports (the no-op report), given to our workers through REPORTS_DIRS. */
export const BENCH_REPORTS_DIR = path.join(DIST, "bench", "reports");

export interface WorkerLine {
  time?: string;
  event: string;
  request_id?: string;
  [key: string]: unknown;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves when the worker said it is ready (started and listening for work). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

export type LineHandler = (line: WorkerLine, receivedAt: number) => void;

/**
 * Spawns `node <script>` with `env`; `readyEvent` is the log event that means "ready". Lines that
 * are not JSON are passed through to stderr (so a crash is visible).
 */
export function spawnWorker(script: string, env: Record<string, string>, readyEvent: string, onLine: LineHandler): WorkerProcess {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const timer = setTimeout(() => rejectReady(new Error(`${path.basename(script)} not ready within 60 s`)), 60_000);
  createInterface({ input: child.stdout! }).on("line", (text) => {
    const receivedAt = Date.now();
    if (!text.startsWith("{")) {
      process.stderr.write(text + "\n");
      return;
    }
    let line: WorkerLine;
    try {
      line = JSON.parse(text) as WorkerLine;
    } catch {
      process.stderr.write(text + "\n");
      return;
    }
    if (line.event === readyEvent) {
      clearTimeout(timer);
      resolveReady();
    }
    if (line.level === "error" || line.event.endsWith("failed")) process.stderr.write(text + "\n");
    onLine(line, receivedAt);
  });
  child.once("exit", (code, signal) => {
    clearTimeout(timer);
    rejectReady(new Error(`${path.basename(script)} exited (${code ?? signal}) before it was ready`));
  });
  return {
    child,
    ready,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
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
}

/** Starts one worker process of `kind`; `ready` resolves when it can take jobs. */
export function startWorker(kind: WorkerKind, options: WorkerOptions, onLine: LineHandler): WorkerProcess {
  const concurrency = String(options.concurrency);
  switch (kind) {
    case "ours":
    case "ours-sweep-only":
      return spawnWorker(
        kind === "ours" ? path.join(DIST, "workers", "node.js") : path.join(DIST, "bench", "worker-sweep-only.js"),
        {
          MONGODB_URI: options.mongoUri!,
          MONGODB_DB: options.dbName!,
          WORKER_CONCURRENCY: concurrency,
          REPORTS_DIRS: BENCH_REPORTS_DIR,
          CATALOGUE_RELOAD_MS: "0",
          REUSE_WINDOW_S: "0",
          ...(options.pollMs === undefined ? {} : { SWEEP_MS: String(options.pollMs) }),
        },
        "worker.started",
        onLine,
      );
    case "agenda-changestream":
    case "agenda-polling":
      return spawnWorker(
        path.join(DIST, "bench", "worker-agenda.js"),
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
      return spawnWorker(
        path.join(DIST, "bench", "worker-bullmq.js"),
        { REDIS_PORT: String(options.redisPort), QUEUE: options.queue!, CONCURRENCY: concurrency },
        "worker.started",
        onLine,
      );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
    createInterface({ input: child.stdout! }).on("line", (line) => {
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
