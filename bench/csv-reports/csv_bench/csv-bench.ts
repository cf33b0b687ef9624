// The report the CSV benchmark's worker runs (loaded through REPORTS_DIRS): ~300-byte rows with a
// quoted field, a number, a date, an array and a nested document, so every cell rule is exercised.
import { object } from "superstruct";
import { defineReport } from "mongo-reports";

export default defineReport({
  name: "csv-bench",
  collection: "csv_bench",
  description: "CSV export benchmark rows",
  params: object({}),
  pipeline: () => [
    {
      $project: {
        _id: 0,
        n: 1,
        label: { $concat: ['row, "', { $toString: "$n" }, '"'] },
        at: 1,
        tags: { $literal: ["Drama", "Crime"] },
        nested: { $literal: { a: 1, b: "two" } },
        filler: { $literal: "x".repeat(200) },
      },
    },
  ],
  columns: ["n", "label", "at", "tags", "nested", "filler"].map((name) => ({ name })),
});
