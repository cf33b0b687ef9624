/**
 * A report that writes every row of `bench_rows` (small documents): the observability benchmark's
 * long-running job, long enough for progress writes to happen. Loaded through REPORTS_DIRS.
 */
import { defineReport } from "mongo-reports";
import { integer, object, optional } from "superstruct";

export default defineReport({
  name: "bench-rows",
  collection: "bench_rows",
  description: "Benchmark: every row of bench_rows.",
  params: object({ i: optional(integer()) }),
  pipeline: () => [{ $project: { _id: 0, n: 1, label: 1 } }],
  columns: [{ name: "n" }, { name: "label" }],
});
