/**
 * The results tables for bench/README.md: the issue's targets with their figures before and after
 * (bench/results/before/*.json against bench/results/*.json), then every measurement in detail.
 * Reads whichever results exist, prints markdown and writes it to bench/results/table.md.
 * `npm run bench:table`
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../scripts/lib/paths.ts";

const DIR = path.join(REPO_ROOT, "bench", "results");
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (name: string, dir = DIR): Json => {
  const file = path.join(dir, `${name}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
};
const BEFORE_DIR = path.join(DIR, "before");
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`);
const times = (x: number) => `${x >= 100 ? Math.round(x) : x.toFixed(2)}×`;
const mark = (met: boolean) => (met ? "met" : "**missed**");

interface Target {
  target: string;
  /** The figure from one results set, or undefined when that set lacks it. */
  figure(results: (name: string) => Json, side: "before" | "after"): { text: string; met?: boolean } | undefined;
}

const throughputRows = (t: Json) => (t?.results ?? []) as Json[];
const TARGETS: Target[] = [
  {
    target: "throughput ≥ 2× Agenda 6 (change-stream channel) at 1/2/4 processes",
    figure: (r) => {
      const rows = throughputRows(r("throughput"));
      if (rows.length === 0) return undefined;
      return {
        text: rows.map((x) => `${x.processes}p: ${times(x.ours_over_agenda)}`).join(", "),
        met: rows.every((x) => x.ours_over_agenda >= 2),
      };
    },
  },
  {
    target: "throughput within 2× of BullMQ (ours ≥ 0.5× BullMQ)",
    figure: (r) => {
      const rows = throughputRows(r("throughput"));
      if (rows.length === 0) return undefined;
      return {
        text: rows.map((x) => `${x.processes}p: ${times(x.ours_over_bullmq)}`).join(", "),
        met: rows.every((x) => x.ours_over_bullmq >= 0.5),
      };
    },
  },
  {
    target: "fixed cost (submit → completed seen with wait=) p50 ≤ 15 ms",
    figure: (r) => {
      const f = r("fixed-cost")?.submit_to_completed_ms;
      return f && { text: `p50 ${ms(f.p50)}, p95 ${ms(f.p95)}`, met: f.p50 <= 15 };
    },
  },
  {
    target: "pickup (insert → job started) p50 ≤ 5 ms",
    figure: (r) => {
      const p = r("pickup")?.systems?.["ours-changestream"];
      return p && { text: `p50 ${ms(p.p50_ms)}, p95 ${ms(p.p95_ms)}`, met: p.p50_ms <= 5 };
    },
  },
  {
    target: "worker start (spawn → first claim) p50 ≤ 1.5 s",
    figure: (r) => {
      const w = r("worker-start")?.spawn_to_first_claim_ms;
      return w && { text: `p50 ${ms(w.p50)}, p95 ${ms(w.p95)}`, met: w.p50 <= 1500 };
    },
  },
  {
    target: "CSV 1,000,000 rows to GCS, peak RSS ≤ 150 MB (default flags)",
    figure: (r) => {
      const e = (r("csv-export")?.export_path ?? []).find((x: Json) => /^gcs/.test(x.sink) && !/max-old-space/.test(x.sink));
      return e && { text: `${e.peak_rss_mb} MB, ${Math.round(e.rows_per_s).toLocaleString("en")} rows/s`, met: e.peak_rss_mb <= 150 };
    },
  },
  {
    target: "soak 10 min: after one minute of warm-up, the last minute within 15 % of the second; API and worker RSS flat",
    figure: (r) => {
      const k = r("soak");
      if (!k) return undefined;
      const w = (k.rss.workers as Json[]).map((x) => `${x.first_minute_mean_mb}→${x.last_minute_mean_mb}`).join(", ");
      return {
        text: `${k.jobs_per_s_first_minute}/s (warm-up), ${k.jobs_per_s_second_minute ?? "?"}/s → ${k.jobs_per_s_last_minute}/s (${times(k.last_over_second ?? k.last_over_first)}); RSS MB API ${k.rss.api.first_minute_mean_mb}→${k.rss.api.last_minute_mean_mb}, worker ${w}; ${k.errors} errors`,
        met: k.targets && Object.values<Json>(k.targets).every((t) => t.met),
      };
    },
  },
  {
    target: "change-stream fan-out: events delivered per completed job per process ≤ 3",
    // bench/fanout.ts measures both sides in one run (the old stream replayed), in results/fanout.json.
    figure: (_r, side) => {
      const value = load("fanout")?.events_per_completed_job_per_process?.[side];
      return typeof value === "number" ? { text: `${Math.round(value * 100) / 100}`, met: value <= 3 } : undefined;
    },
  },
];

/** One row per target of the last round of work: its figure before the work and after it, with the load each was measured under. */
export function buildTargetsTable(): string {
  const before = (name: string) => load(name, BEFORE_DIR);
  const after = (name: string) => load(name);
  const cell = (f: { text: string; met?: boolean } | undefined) =>
    f ? `${f.text}${f.met === undefined ? "" : ` (${f.met ? "met" : "**missed**"})`}` : "not measured";
  const lines = ["| target | before | after |", "| --- | --- | --- |"];
  for (const t of TARGETS) lines.push(`| ${t.target} | ${cell(t.figure(before, "before"))} | ${cell(t.figure(after, "after"))} |`);
  return lines.join("\n") + "\n";
}

export function buildTable(): string {
  const lines: string[] = [];
  const notes: string[] = [];
  lines.push("| benchmark | measurement | result | target | status |", "| --- | --- | --- | --- | --- |");

  const pickup = load("pickup");
  if (pickup) {
    const s = pickup.systems;
    const ours = s["ours-changestream"];
    const cell = (x: Json) =>
      `p50 ${ms(x.p50_ms)}, p95 ${ms(x.p95_ms)}` +
      (x.insert_to_claim_issued ? ` (claim issued: p50 ${ms(x.insert_to_claim_issued.p50_ms)})` : "");
    lines.push(
      `| a) pickup latency, insert → claimed | ours, change stream | ${cell(ours)} | p50 ≤ 10 ms | ${mark(ours.p50_ms <= 10)} |`,
      `| | ours, sweep alone (SWEEP_MS 5 s) | ${cell(s["ours-sweep-only"])} | | |`,
      `| | Agenda 6, MongoChangeStreamNotificationChannel | ${cell(s["agenda-changestream"])} | ours no slower (p50): ${times(pickup.ratios.agenda_changestream_p50_over_ours_p50)} faster | ${mark(pickup.ratios.agenda_changestream_p50_over_ours_p50 >= 1)} |`,
      `| | Agenda 6, default polling (5 s) | ${cell(s["agenda-polling"])} | ours ≥ 10× faster (p50): ${times(pickup.ratios.agenda_polling_p50_over_ours_p50)} | ${mark(pickup.ratios.agenda_polling_p50_over_ours_p50 >= 10)} |`,
    );
  }

  const throughput = load("throughput");
  if (throughput) {
    for (const row of throughput.results) {
      lines.push(
        `| ${row.processes === throughput.results[0].processes ? "b) throughput (no-op jobs/s)" : ""} | ${row.processes} worker process${row.processes > 1 ? "es" : ""} | ours ${row.ours_jobs_per_s}/s · Agenda ${row.agenda_jobs_per_s}/s · BullMQ ${row.bullmq_jobs_per_s}/s | ours ≥ 2× Agenda: ${times(row.ours_over_agenda)} | ${mark(row.target_ours_ge_2x_agenda_met)} |`,
      );
    }
  }

  const diagnostic = throughput?.diagnostic_without_change_streams?.median_jobs_per_s;
  if (diagnostic?.["ours-no-stream"] && diagnostic?.["agenda-polling-100ms"]) {
    const counts = Object.keys(diagnostic["ours-no-stream"]);
    const cells = counts
      .map((n) => `${n} proc.: ours ${diagnostic["ours-no-stream"][n]}/s · Agenda ${diagnostic["agenda-polling-100ms"][n]}/s`)
      .join("; ");
    lines.push(`| | diagnostic, no change streams (ours SWEEP_MS 100, Agenda processEvery 100 ms) | ${cells} | not a target | |`);
  }

  const overhead = load("overhead");
  if (overhead) {
    let first = true;
    for (const [name, r] of Object.entries<Json>(overhead.reports)) {
      lines.push(
        `| ${first ? "c) report overhead" : ""} | ${name} (${r.rows} rows): end to end vs driver aggregate + chunk insert | ${ms(r.end_to_end_ms.median)} vs ${ms(r.direct_aggregate_and_insert_ms.median)} (aggregate alone ${ms(r.direct_aggregate_only_ms.median)}, ratio ${times(r.ratio_vs_aggregate_only)}; fixed cost ${ms(r.fixed_overhead_ms)}) | ratio ≤ 1.15: ${times(r.ratio_vs_aggregate_and_insert)}${r.median_of_paired_ratios ? ` (paired runs: ${times(r.median_of_paired_ratios)})` : ""} | ${mark(r.target_ratio_le_1_15_met)} |`,
      );
      first = false;
    }
  }

  const pagination = load("pagination");
  if (pagination) {
    for (const way of ["api", "driver"] as const) {
      const r = pagination[way];
      lines.push(
        `| ${way === "api" ? "d) pagination, 1,000,000 rows" : ""} | ${way === "api" ? "GET /v1/reports/:id?page=N" : "readPage() with the driver"}, page_size 10 | page 0 ${ms(r.page_0_ms)}, page 10,000 ${ms(r.page_10000_ms)} (last page ${ms(r.page_99999_ms ?? Object.values<number>(r).find((v) => typeof v === "number")!)}) | ratio ≤ 1.5: ${times(r.ratio_page_10000_over_page_0)} | ${mark(r.target_ratio_le_1_5_met)} |`,
      );
    }
  }

  const csv = load("csv-export");
  if (csv && Array.isArray(csv.export_path)) {
    csv.export_path.forEach((e: Json, i: number) => {
      const target = typeof e.target_rss_met === "boolean" ? mark(e.target_rss_met) : "";
      const rssTarget = /RSS\s*≤\s*(\d+)\s*MB/i.exec(String(csv.method ?? ""))?.[1];
      lines.push(
        `| ${i === 0 ? "e) CSV export" : ""} | ${e.sink}, ${Number(e.rows).toLocaleString("en")} rows | ${Math.round(e.rows_per_s).toLocaleString("en")} rows/s, peak RSS ${e.peak_rss_mb} MB | ${target ? (rssTarget ? `peak RSS ≤ ${rssTarget} MB` : "peak RSS (see csv-export.json)") : ""} | ${target} |`,
      );
    });
  } else if (csv) {
    const found: string[] = [];
    const walk = (value: Json, key: string) => {
      if (typeof value === "number" && /rows_per_s|rss/i.test(key)) found.push(`${key} ${Math.round(value * 10) / 10}`);
      else if (value && typeof value === "object" && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, k);
    };
    walk(csv, "");
    lines.push(`| e) CSV export | 1,000,000 rows (see csv-export.json) | ${found.slice(0, 4).join(", ") || "see file"} | | |`);
  } else {
    notes.push("e) CSV export: no results/csv-export.json yet.");
  }

  const measured = [pickup, throughput, overhead, pagination].filter(Boolean).map((r: Json) => r.measured_at.slice(0, 10));
  const machine = (pickup ?? throughput ?? overhead ?? pagination)?.machine;
  notes.unshift(
    "The database in every run is the embedded test server (mongo-java-server, in-memory), **not MongoDB**: its absolute numbers are not MongoDB's. " +
      "Compare the ratios, which are measured in the same run on the same server. Rounds and runs per measurement are in each results file" +
      (machine ? `; machine: ${machine.cpus} cores, ${machine.memory_gb} GiB, Node ${machine.node}` : "") +
      (measured.length ? `; measured ${[...new Set(measured)].join(", ")}.` : "."),
  );
  return [...lines, "", ...notes.map((n) => `${n}`)].join("\n") + "\n";
}

/** What bench/results/table.md holds: the targets before and after, then every measurement. */
export function buildResultsMarkdown(): string {
  return `## Targets (the last round of work), before and after\n\n${buildTargetsTable()}\n## Every measurement\n\n${buildTable()}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const table = buildResultsMarkdown();
  writeFileSync(path.join(DIR, "table.md"), table);
  process.stdout.write(table);
}
