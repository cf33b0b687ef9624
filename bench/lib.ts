/** Shared bits of the benchmark scripts: percentiles, memory measurement, child runs and a results file with its context. */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../scripts/lib/paths.ts";

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export const median = (values: number[]) => percentile(values, 50);

/** How long `step` takes, in ms. */
export async function timeMs(step: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await step();
  return performance.now() - started;
}

/** Each series' p50 as `<name>_p50_ms`, rounded to `decimals`. */
export function p50ByName(samples: Record<string, number[]>, decimals: number): Record<string, number> {
  const scale = 10 ** decimals;
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [`${name}_p50_ms`, Math.round(percentile(values, 50) * scale) / scale]),
  );
}

/** Each figure of `last` over the same figure of `first`, to two decimals: how a cost grew between two sizes. */
export function growth(first: Record<string, number>, last: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(first).map((k) => [k, Math.round((last[k] / first[k]) * 100) / 100]));
}

/** The results file a benchmark writes: RESULTS_NAME (e.g. "before-batching/fixed-cost") keeps a run apart from the current figures. */
function resultsFile(name: string): string {
  return path.join(REPO_ROOT, "bench", "results", `${process.env.RESULTS_NAME ?? name}.json`);
}

/** The results a benchmark wrote last (what writeResults would overwrite), if any. */
export function readResults(name: string): Record<string, unknown> | undefined {
  const file = resultsFile(name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : undefined;
}

export function writeResults(name: string, results: Record<string, unknown>): string {
  const file = resultsFile(name);
  mkdirSync(path.dirname(file), { recursive: true });
  const body = {
    benchmark: name,
    measured_at: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model,
      memory_gb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      // The machine is shared: the 1/5/15-minute load averages when the results were written.
      load_average: os.loadavg().map((x) => Math.round(x * 10) / 10),
    },
    database_note: process.env.TEST_MONGODB_URI
      ? "TEST_MONGODB_URI as given (a real MongoDB deployment)"
      : process.env.MONGODB_URI
        ? "MONGODB_URI as given"
        : "embedded mongo-java-server (in-memory), not real MongoDB: absolute numbers are not MongoDB's; compare ratios within one run",
    ...results,
  };
  writeFileSync(file, JSON.stringify(body, null, 2) + "\n");
  return file;
}

/**
 * Samples process.memoryUsage() every `everyMs` and keeps each field's peak: where the memory goes
 * (V8 heap, or buffers outside it) when RSS is high.
 */
export function sampleMemory(everyMs = 20): { stop(): Record<string, number> } {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const [key, value] of Object.entries(process.memoryUsage())) peaks[key] = Math.max(peaks[key] ?? 0, value);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(Object.entries(peaks).map(([key, value]) => [key, Math.round(value / 2 ** 20)]));
    },
  };
}

/** Peak resident set size of a live process (kernel high-water mark), in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

/**
 * Runs `node <flags> script --child` with `env` added; resolves with the child's `{"event":"done"}`
 * line and its peak RSS, read before it exits (the child waits for its stdin to close).
 */
export function runBenchChild<T>(
  script: string,
  env: Record<string, string>,
  nodeFlags: string[] = [],
): Promise<{ result: T; peakRss: number }> {
  const child = spawn(process.execPath, [...nodeFlags, script, "--child"], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const message = JSON.parse(line) as { event: string } & T;
      if (message.event !== "done") return;
      const peakRss = peakRssMb(child.pid!);
      child.stdin.end(); // lets it exit
      resolve({ result: message, peakRss });
    });
    child.once("exit", (code) => reject(new Error(`benchmark child exited with ${code} before reporting`)));
  });
}
