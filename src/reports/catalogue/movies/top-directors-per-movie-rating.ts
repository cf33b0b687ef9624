import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { limitStage, matchStage, numberRange, rangeMatch } from "../../filters.ts";
import { movieFilterFields, movieMatch } from "../../movie-filters.ts";
import { rankKeys, RATING_PRECISION } from "../../ranking.ts";

export default defineReport({
  name: "top-directors-per-movie-rating",
  collection: "movies",
  description:
    "Directors ranked by the average IMDb rating of their movies, with average runtime and movie count (ties: more movies first, then name).",
  params: object({
    ...movieFilterFields,
    /** Bounds on how many (matching) movies a director has, e.g. {"$gte": 3}. */
    movies: optional(numberRange()),
  }),
  pipeline: (filters) => [
    ...movieMatch(filters),
    // $setUnion drops a director listed twice on one movie, so no movie counts double.
    { $project: { directors: { $setUnion: ["$directors", []] }, rating: "$imdb.rating", runtime: 1 } },
    { $unwind: "$directors" },
    // The directors filter chose movies; on the unwound rows it also chooses which directors rank.
    ...matchStage(
      filters.directors?.include ? { directors: { $in: filters.directors.include } } : {},
      filters.directors?.exclude ? { directors: { $nin: filters.directors.exclude } } : {},
    ),
    {
      $group: {
        _id: "$directors",
        average_rating: { $avg: "$rating" },
        // $avg skips missing and non-numeric runtimes rather than counting them as zero.
        average_screen_playtime: { $avg: "$runtime" },
        movies: { $sum: 1 },
      },
    },
    ...matchStage(rangeMatch("movies", filters.movies)),
    rankKeys({ average_rating: RATING_PRECISION }),
    { $sort: { average_rating_rank: -1, movies: -1, _id: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, name: "$_id", average_rating: 1, average_screen_playtime: 1, movies: 1 } },
  ],
  // The design document's request: {"report_name": "top-directors-per-moving-rating",
  // "movie_released_at": {"$gt": "1990", "$lt": "2021"}}; its rows already carry the document's
  // name, average_rating and average_screen_playtime.
  aliases: {
    names: ["top-directors-per-moving-rating"],
    parameters: { movie_released_at: "released", rating_threshold: "rating", time_range: "released", writors: "writers" },
  },
  columns: [
    { name: "name", type: "string", description: "director" },
    {
      name: "average_rating",
      type: "number",
      precision: RATING_PRECISION,
      description: "mean imdb.rating of the director's matching movies",
    },
    {
      name: "average_screen_playtime",
      type: "number",
      precision: 1,
      description: "mean runtime in minutes (movies without one are skipped)",
    },
    { name: "movies", type: "integer", description: "number of matching movies" },
  ],
  sort: { average_rating: -1, movies: -1, name: 1 },
  example: { rating: { $gt: 6 }, released: { $gt: "1930", $lt: "1960" }, movies: { $gte: 3 }, top: 10 },
});
