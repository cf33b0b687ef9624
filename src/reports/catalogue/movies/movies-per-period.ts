import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { RATING_PRECISION, RUNTIME_PRECISION } from "../../ranking.ts";
import { choice, listMatch, matchStage, minimum, nameList, numberRange, rangeMatch } from "../../filters.ts";

export default defineReport({
  name: "movies-per-period",
  collection: "movies",
  description:
    "Movies per year or per decade (by the movie's year), with average IMDb rating and runtime, oldest period first. A movie without a numeric rating is counted but not averaged.",
  params: object({
    period: choice(["year", "decade"], "decade", "year: one row per year; decade: one row per decade (1950 = 1950–1959)"),
    /** Bounds on the movie's year, e.g. {"$gte": 1930, "$lt": 1960}. */
    years: optional(numberRange()),
    rating: optional(numberRange()),
    min_votes: minimum(0),
    genres: optional(nameList()),
    /** Bounds on a period's movie count. */
    movies: optional(numberRange()),
  }),
  pipeline: (filters) => [
    ...matchStage(
      // Some copies of the dataset have string years ("2005è"); they have no period.
      { year: { $type: "number" } },
      rangeMatch("year", filters.years),
      rangeMatch("imdb.rating", filters.rating),
      filters.min_votes === undefined ? {} : { "imdb.votes": { $type: "number", $gte: filters.min_votes } },
      listMatch("genres", filters.genres),
    ),
    {
      $group: {
        _id: filters.period === "decade" ? { $subtract: ["$year", { $mod: ["$year", 10] }] } : "$year",
        movies: { $sum: 1 },
        // $avg ignores the non-numeric "" ratings some movies have.
        average_rating: { $avg: "$imdb.rating" },
        average_runtime: { $avg: "$runtime" },
      },
    },
    ...matchStage(rangeMatch("movies", filters.movies)),
    { $sort: { _id: 1 } },
    { $project: { _id: 0, period: "$_id", movies: 1, average_rating: 1, average_runtime: 1 } },
  ],
  columns: [
    { name: "period", type: "integer", description: "the year, or the decade's first year" },
    { name: "movies", type: "integer" },
    { name: "average_rating", type: "number", precision: RATING_PRECISION, description: "mean imdb.rating (numeric ratings only)" },
    { name: "average_runtime", type: "number", precision: RUNTIME_PRECISION, description: "mean runtime in minutes" },
  ],
  sort: { period: 1 },
  example: { period: "decade", years: { $gte: 1920, $lt: 2000 } },
});
