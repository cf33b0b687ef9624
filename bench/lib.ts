/** Shared bits of the benchmark scripts: percentiles and a results file with its context. */
import { writeFileSync, mkdirSync } from "node:fs";
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

export function writeResults(name: string, results: Record<string, unknown>): string {
  // RESULTS_NAME (e.g. "before-batching/fixed-cost") keeps a run apart from the current figures.
  const file = path.join(REPO_ROOT, "bench", "results", `${process.env.RESULTS_NAME ?? name}.json`);
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
