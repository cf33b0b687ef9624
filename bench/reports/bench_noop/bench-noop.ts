/**
 * A report that does (almost) nothing: one aggregation over an empty collection, no rows. The
 * benchmarks load it through REPORTS_DIRS (dist/bench/reports); it is not part of the
 * product catalogue. What it measures is the job machinery: wake-up, claim, validation, run,
 * completion write.
 */
import { defineReport } from "mongo-reports";
import { integer, object, optional } from "superstruct";

export default defineReport({
  name: "bench-noop",
  collection: "bench_noop",
  description: "Benchmark no-op: matches nothing in an empty collection.",
  params: object({ i: optional(integer()) }),
  pipeline: () => [{ $limit: 1 }],
  columns: [{ name: "none" }],
});
