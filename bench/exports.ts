/**
 * Export formats benchmark: rows/s and peak RSS while exporting 1,000,000 and 5,000,000 rows to
 * GCS (fake-gcs-server) in each format (csv, ndjson, xlsx, parquet), with Node's default flags.
 *
 *   npm run build:dev && node dist/bench/exports.js [formats] [row counts]
 *   e.g. node dist/bench/exports.js xlsx,parquet 1000000,5000000
 *
 * Each run is its own process (so its peak RSS, the kernel's VmHWM, is its own) running the
 * worker's export code (FileExport: encoder → SHA-256 → GCS sink) fed by a row generator. The
 * target: every format at most 200 MB peak RSS at 5,000,000 rows, and within 10 % of its own
 * 1,000,000-row figure (memory flat as rows grow). The two row counts of a format run back to
 * back so they compare under the same machine load; the load averages are recorded with each run.
 * Writes bench/results/exports.json; formats not run this time keep their earlier runs there (each run
 * records when it was measured).
 */
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { ObjectId } from "mongodb";
import { loadConfig } from "../src/config.ts";
import type { Column } from "../src/reports/define.ts";
import { FileExport } from "../src/results/export.ts";
import { FILE_FORMATS } from "../src/results/formats/all.ts";
import { FORMATS, type FormatName } from "../src/results/formats/format.ts";
import { openCsvSink } from "../src/results/sinks/open.ts";
import { REPO_ROOT } from "../scripts/lib/paths.ts";
import { startFakeGcs } from "../test/support/gcs.ts";
import { readResults, runBenchChild, sampleMemory, writeResults } from "./lib.ts";

const SELF = path.join(REPO_ROOT, "dist", "bench", "exports.js");
const BUCKET = "bench-exports";
const TARGET_RSS_MB = 200;
const FLAT_WITHIN = 0.1;

/** A typical report row: every column type, ~100 bytes of CSV. */
const COLUMNS: Column[] = [
  { name: "n", type: "integer" },
  { name: "name", type: "string" },
  { name: "average", type: "number", precision: 2 },
  { name: "at", type: "date" },
  { name: "flag", type: "boolean" },
  { name: "tags", type: "json" },
];
const NAMES = ["Alfred Hitchcock", "Zoë — 東京", "=SUM(A1)", "Akira Kurosawa", "Billy Wilder"];

interface ChildResult {
  rows: number;
  bytes: number;
  ms: number;
  sink_writes: number;
  backpressure_waits: number;
  memory_peaks_mb: Record<string, number>;
}

const load = () => os.loadavg().map((x) => Math.round(x * 10) / 10);

/** Child: exports BENCH_ROWS generated rows in BENCH_FORMAT to the configured sink; waits for stdin to close. */
async function child(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS);
  const format = FILE_FORMATS[process.env.BENCH_FORMAT as FormatName];
  const sink = await openCsvSink(loadConfig().csv);
  const memory = sampleMemory();
  const requestId = new ObjectId();
  const started = Date.now();
  const exporter = await FileExport.start(sink, { requestId, reportName: "exports-bench", attempt: 1, columns: COLUMNS }, format);
  const base = Date.UTC(1990, 0, 1);
  for (let n = 0; n < rows; n++) {
    await exporter.add({
      n,
      name: `${NAMES[n % NAMES.length]} ${n % 10_000}`,
      average: Math.round(((n % 1000) / 7) * 100) / 100,
      at: new Date(base + (n % 100_000) * 60_000),
      flag: n % 3 === 0,
      tags: n % 2 === 0 ? ["Drama", "Crime"] : ["Comedy"],
    });
  }
  const stored = await exporter.finish();
  const ms = Date.now() - started;
  const peaks = memory.stop();
  // Before reporting: the parent stops the emulator once the last child has reported.
  await sink.remove({ requestId, attempt: 1, ext: format.extension });
  const result: ChildResult & { event: string } = {
    event: "done",
    rows: stored.rows,
    bytes: stored.bytes,
    ms,
    sink_writes: exporter.stats.sinkWrites,
    backpressure_waits: exporter.stats.waits,
    memory_peaks_mb: peaks,
  };
  console.log(JSON.stringify(result));
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once("end", resolve));
}

async function main(): Promise<void> {
  const formats = (process.argv[2] ?? FORMATS.join(",")).split(",") as FormatName[];
  const counts = (process.argv[3] ?? "1000000,5000000").split(",").map(Number);
  const gcs = await startFakeGcs();
  const runs: Record<string, unknown>[] = [];
  try {
    await gcs.createBucket(BUCKET);
    const env = { GCS_BUCKET: BUCKET, STORAGE_EMULATOR_HOST: gcs.url, GCS_PROJECT_ID: "bench" };
    for (const format of formats) {
      for (const rows of counts) {
        const loadBefore = load();
        const { result, peakRss } = await runBenchChild<ChildResult>(SELF, { ...env, BENCH_ROWS: String(rows), BENCH_FORMAT: format });
        const entry = {
          format,
          measured_at: new Date().toISOString(),
          rows: result.rows,
          mb: Math.round(result.bytes / 1e5) / 10,
          seconds: result.ms / 1000,
          rows_per_s: Math.round(result.rows / (result.ms / 1000)),
          peak_rss_mb: peakRss,
          sink_writes: result.sink_writes,
          backpressure_waits: result.backpressure_waits,
          memory_peaks_mb: result.memory_peaks_mb,
          load_average_before: loadBefore,
          load_average_after: load(),
        };
        console.error(JSON.stringify(entry));
        runs.push(entry);
      }
    }
  } finally {
    await gcs.stop();
  }
  const verdicts = formats.map((format) => {
    const mine = runs.filter((run) => run.format === format) as { rows: number; peak_rss_mb: number }[];
    const small = mine.find((run) => run.rows === Math.min(...counts));
    const large = mine.find((run) => run.rows === Math.max(...counts));
    if (!small || !large) return { format };
    return {
      format,
      peak_rss_mb: { [small.rows]: small.peak_rss_mb, [large.rows]: large.peak_rss_mb },
      at_most_target: large.peak_rss_mb <= TARGET_RSS_MB,
      growth: Math.round((large.peak_rss_mb / small.peak_rss_mb - 1) * 1000) / 1000,
      flat: large.peak_rss_mb <= small.peak_rss_mb * (1 + FLAT_WITHIN),
    };
  });
  // A run of some formats keeps the others' figures from the file it replaces.
  type Entry = Record<string, unknown>;
  const earlier = readResults("exports") as { runs?: Entry[]; verdicts?: Entry[] } | undefined;
  const kept = (list: Entry[] | undefined) => (list ?? []).filter((item) => !formats.includes(item.format as FormatName));
  const byFormat = (a: Entry, b: Entry) => FORMATS.indexOf(a.format as FormatName) - FORMATS.indexOf(b.format as FormatName);
  const file = writeResults("exports", {
    method: `rows of 6 typed columns (integer, text, number, date, boolean, JSON list; ~75 bytes as CSV) exported by FileExport to fake-gcs-server (one streamed resumable upload, the default) in each format, each run its own process with Node's default flags (${process.version}); peak RSS is the process's kernel high-water mark (VmHWM); target: ≤ ${TARGET_RSS_MB} MB at the largest count and within ${FLAT_WITHIN * 100} % of the smallest count's figure`,
    runs: [...kept(earlier?.runs), ...runs].sort(byFormat),
    verdicts: [...kept(earlier?.verdicts), ...verdicts].sort(byFormat),
  });
  console.error(`written ${path.relative(REPO_ROOT, file)}`);
}

if (process.argv.includes("--child")) await child();
else await main();
