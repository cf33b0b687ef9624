/**
 * Child processes that speak our log format (one JSON object per line on stdout): the real worker
 * and API entry points, and the benchmarks' comparison workers. One spawner for tests, benchmarks
 * and the chaos run: lines are parsed once, kept (or only handed to a callback, for long runs),
 * and anyone can wait for a line that matches.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import type { TestMongo } from "./mongo.ts";
import { started } from "./started.ts";

export interface LogEntry {
  event: string;
  [field: string]: unknown;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LoggedProcess {
  child: ChildProcess;
  /** Every parsed line so far (empty when spawned with `keepLogs: false`). */
  logs: LogEntry[];
  /**
   * Resolves with the first entry (already kept, or future) for which `match` holds; rejects after
   * `timeoutMs` or when the process has exited (and its output ended) without one.
   */
  waitFor(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  exited: Promise<ExitStatus>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after `killAfterMs`. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<ExitStatus>;
}

export interface SpawnLoggedOptions {
  /** The executable; Node (this process's) by default. */
  command?: string;
  args: string[];
  env?: Record<string, string | undefined>;
  /** Keep every entry in `logs` (default true). Long runs say false and count in `onLine`. */
  keepLogs?: boolean;
  /** Called for every line with the time it was read here (ms since the epoch). */
  onLine?: (entry: LogEntry, receivedAt: number) => void;
  /** Copy lines that are not JSON, and error-level lines, to this process's stderr (a crash stays visible). */
  echoProblems?: boolean;
}

export function spawnLogged(options: SpawnLoggedOptions): LoggedProcess {
  const child = spawn(options.command ?? process.execPath, options.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const keep = options.keepLogs !== false;
  const logs: LogEntry[] = [];
  const waiters = new Set<(entry: LogEntry) => void>();
  const lines = createInterface({ input: child.stdout });
  // Lines can still arrive after `exit`; once stdout closes, no awaited line can come any more.
  const outputEnded = new Promise<void>((resolve) => lines.once("close", resolve));
  lines.on("line", (line) => {
    const receivedAt = Date.now();
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
      if (typeof entry?.event !== "string") throw new Error("no event");
    } catch {
      entry = { event: "non_json_output", line };
    }
    if (options.echoProblems && (entry.event === "non_json_output" || entry.level === "error"))
      process.stderr.write(`${path.basename(options.args.at(-1) ?? "")}: ${line}\n`);
    if (keep) logs.push(entry);
    options.onLine?.(entry, receivedAt);
    for (const wake of [...waiters]) wake(entry);
  });
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    // A command that cannot be started (ENOENT) emits no exit: it has exited all the same.
    child.once("error", () => child.pid === undefined && resolve({ code: null, signal: null }));
  });
  const waitFor = (match: (entry: LogEntry) => boolean, timeoutMs = 120_000) =>
    new Promise<LogEntry>((resolve, reject) => {
      const found = logs.find(match);
      if (found) return resolve(found);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(onEntry);
      };
      const onEntry = (entry: LogEntry) => {
        if (!match(entry)) return;
        cleanup();
        resolve(entry);
      };
      const seen = () => (keep ? `; saw: ${logs.map((l) => l.event).join(", ")}` : "");
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`log event not seen within ${timeoutMs} ms from ${path.basename(options.args.at(-1) ?? "")}${seen()}`));
      }, timeoutMs);
      waiters.add(onEntry);
      void outputEnded
        .then(() => exited)
        .then((status) => {
          if (!waiters.has(onEntry)) return;
          cleanup();
          reject(
            new Error(`${path.basename(options.args.at(-1) ?? "")} exited (${status.code ?? status.signal}) before the awaited log event`),
          );
        });
    });
  const stop = async (signal: NodeJS.Signals = "SIGTERM", killAfterMs = 10_000): Promise<ExitStatus> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    const kill = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.kill(signal);
    const status = await exited;
    clearTimeout(kill);
    return status;
  };
  const stopped = started(`${path.basename(options.args.at(-1) ?? options.command ?? "process")} (pid ${child.pid})`, () =>
    stop("SIGKILL"),
  );
  void exited.then(stopped);
  return { child, logs, waitFor, exited, stop };
}

/** Our worker entry point for a runtime: Node's compiled file, or Deno running the sources. */
export function workerCommand(runtime: "node" | "deno" = "node"): { command: string; args: string[] } {
  return runtime === "node"
    ? { command: process.execPath, args: [path.join(REPO_ROOT, "dist", "workers", "node.js")] }
    : {
        command: path.join(REPO_ROOT, "node_modules", ".bin", "deno"),
        args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", path.join(REPO_ROOT, "workers", "deno.ts")],
      };
}

export type WorkerProcess = LoggedProcess;

/** A worker for tests: short leases and sweeps so recovery paths finish in seconds. */
export function spawnWorker(mongo: TestMongo, options: { runtime?: "node" | "deno"; env?: Record<string, string> } = {}): WorkerProcess {
  return spawnLogged({
    ...workerCommand(options.runtime),
    env: {
      MONGODB_URI: mongo.uri,
      MONGODB_DB: mongo.dbName,
      LEASE_MS: "3000",
      SWEEP_MS: "500",
      RETRY_BASE_MS: "50",
      LOG_LEVEL: "info",
      ...options.env,
    },
  });
}

export async function stopWorker(worker: WorkerProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<ExitStatus> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill(signal);
  return worker.exited;
}

/** The API server (dist/src/main/api.js) on a free port; `url` once it listens (needs LOG_LEVEL info or lower). */
export async function spawnApi(mongo: TestMongo, env: Record<string, string> = {}): Promise<LoggedProcess & { url: string }> {
  const api = spawnLogged({
    args: [path.join(REPO_ROOT, "dist", "src", "main", "api.js")],
    env: { MONGODB_URI: mongo.uri, MONGODB_DB: mongo.dbName, PORT: "0", LOG_LEVEL: "info", ...env },
    echoProblems: true,
  });
  try {
    // Generous: on a loaded machine a cold start (catalogue, indexes) can take a while.
    const listening = await api.waitFor((entry) => entry.event === "api.listening", 180_000);
    return { ...api, url: String(listening.url) };
  } catch (error) {
    await api.stop("SIGKILL");
    throw error;
  }
}
