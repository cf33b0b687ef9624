/**
 * Runs the benchmarks one after another, each in its own process (each starts its own fresh test
 * servers and stops them), then writes the results table (bench/results/table.md).
 * `npm run bench:all` or `node dist/bench/run.js pickup overhead` for a subset.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../scripts/lib/paths.ts";
import { buildResultsMarkdown } from "./table.ts";

// The soak (10 minutes) and the CSV export run on their own: `npm run bench:soak`, `npm run bench:csv`.
const ALL = ["pickup", "throughput", "fixed-cost", "worker-start", "overhead", "pagination"];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;
const failed: string[] = [];
for (const name of chosen) {
  const script = path.join(REPO_ROOT, "dist", "bench", `${name}.js`);
  if (!existsSync(script)) throw new Error(`no benchmark ${name} (${script}); run npx tsc -p . first`);
  console.log(JSON.stringify({ event: "bench.run", name, at: new Date().toISOString() }));
  const result = spawnSync(process.execPath, [script], { stdio: "inherit", timeout: 15 * 60_000 });
  if (result.status !== 0) failed.push(name);
}
const table = buildResultsMarkdown();
writeFileSync(path.join(REPO_ROOT, "bench", "results", "table.md"), table);
process.stdout.write("\n" + table);
if (failed.length > 0) {
  console.error(`benchmarks failed: ${failed.join(", ")}`);
  process.exit(1);
}
