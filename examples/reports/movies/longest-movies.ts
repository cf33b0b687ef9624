// A report module as it would sit in a REPORTS_DIRS folder: everything it needs comes from the
// package ("mongo-reports") and superstruct, nothing from the service's source tree.
import { object, optional } from "superstruct";
import { defineReport, limitStage, matchStage, numberRange, rangeMatch, topN, type ReportDefinition } from "mongo-reports";

const params = object({ runtime: optional(numberRange()), top: topN() });

const longestMovies: ReportDefinition<typeof params.TYPE> = {
  name: "longest-movies",
  collection: "movies",
  description: "Movies by runtime in minutes, longest first.",
  params,
  pipeline: (p) => [
    ...matchStage({ runtime: { $type: "number" } }, rangeMatch("runtime", p.runtime)),
    { $sort: { runtime: -1, _id: 1 } },
    ...limitStage(p.top),
    { $project: { _id: 0, title: 1, runtime: 1 } },
  ],
  columns: [{ name: "title" }, { name: "runtime", type: "integer" }],
  sort: { runtime: -1 },
  example: { runtime: { $gte: 180 }, top: 10 },
};

export default defineReport(longestMovies);
