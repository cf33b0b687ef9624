/**
 * A small JSON report: one row of `bench_one_row` (the benchmark seeds one document). What the
 * round-trip and fixed-cost benchmarks run as "a small report": the job writes rows, unlike
 * bench-noop. Loaded through REPORTS_DIRS.
 */
import { defineReport } from "../../../src/reports/define.ts";
import { integer, object, optional } from "superstruct";

export default defineReport({
  name: "bench-one-row",
  collection: "bench_one_row",
  description: "Benchmark: the one row of bench_one_row.",
  params: object({ i: optional(integer()) }),
  pipeline: () => [{ $limit: 1 }, { $project: { _id: 0, n: 1, label: 1 } }],
  columns: [{ name: "n" }, { name: "label" }],
});
