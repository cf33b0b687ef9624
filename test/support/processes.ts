/**
 * Worker processes for tests: the real entry points (Node's compiled one, or Deno running the
 * sources), their JSON log lines collected so tests can wait for and count events.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import type { TestMongo } from "./mongo.ts";

export interface LogEntry {
  event: string;
  [field: string]: unknown;
}

export interface WorkerProcess {
  child: ChildProcess;
  logs: LogEntry[];
  /** Resolves with the first entry (already seen or future) for which `match` holds. */
  waitFor(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWorker(mongo: TestMongo, options: { runtime?: "node" | "deno"; env?: Record<string, string> } = {}): WorkerProcess {
  const runtime = options.runtime ?? "node";
  const [command, args] =
    runtime === "node"
      ? [process.execPath, [path.join(REPO_ROOT, "dist", "workers", "node.js")]]
      : [
          path.join(REPO_ROOT, "node_modules", ".bin", "deno"),
          ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", path.join(REPO_ROOT, "workers", "deno.ts")],
        ];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      MONGODB_URI: mongo.uri,
      MONGODB_DB: mongo.dbName,
      LEASE_MS: "3000",
      SWEEP_MS: "500",
      RETRY_BASE_MS: "50",
      LOG_LEVEL: "info",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const logs: LogEntry[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line) as LogEntry);
    } catch {
      logs.push({ event: "non_json_output", line });
    }
    for (const wake of [...waiters]) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const waitFor = (match: (entry: LogEntry) => boolean, timeoutMs = 30_000) =>
    new Promise<LogEntry>((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`worker log event not seen within ${timeoutMs} ms; saw: ${logs.map((l) => l.event).join(", ")}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(onLine);
      };
      const onLine = () => void check();
      if (!check()) waiters.add(onLine);
    });
  return { child, logs, waitFor, exited };
}

export async function stopWorker(
  worker: WorkerProcess,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill(signal);
  return worker.exited;
}
