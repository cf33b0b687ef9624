import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { limitStage, matchStage, numberRange, rangeMatch } from "../../filters.ts";
import { movieFilterFields, movieMatch } from "../../movie-filters.ts";
import { rankKeys, RATING_PRECISION, RUNTIME_PRECISION } from "../../ranking.ts";

export default defineReport({
  name: "genres-by-rating",
  collection: "movies",
  description:
    "Genres ranked by the average IMDb rating of their movies, with movie count and average runtime (ties: more movies first, then genre). A movie counts once in each of its genres.",
  params: object({
    ...movieFilterFields,
    /** Bounds on how many matching movies a genre has, e.g. {"$gte": 10}. */
    movies: optional(numberRange()),
  }),
  pipeline: (filters) => [
    ...movieMatch(filters),
    { $project: { genre: { $setUnion: [{ $ifNull: ["$genres", []] }, []] }, rating: "$imdb.rating", runtime: 1 } },
    { $unwind: "$genre" },
    // The genres filter chose movies; on the unwound rows it also chooses which genres rank.
    ...matchStage(
      filters.genres?.include ? { genre: { $in: filters.genres.include } } : {},
      filters.genres?.exclude ? { genre: { $nin: filters.genres.exclude } } : {},
    ),
    { $group: { _id: "$genre", average_rating: { $avg: "$rating" }, movies: { $sum: 1 }, average_runtime: { $avg: "$runtime" } } },
    ...matchStage(rangeMatch("movies", filters.movies)),
    rankKeys({ average_rating: RATING_PRECISION }),
    { $sort: { average_rating_rank: -1, movies: -1, _id: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, genre: "$_id", average_rating: 1, movies: 1, average_runtime: 1 } },
  ],
  columns: [
    { name: "genre", type: "string" },
    { name: "average_rating", type: "number", precision: RATING_PRECISION, description: "mean imdb.rating of the genre's matching movies" },
    { name: "movies", type: "integer", description: "number of matching movies" },
    {
      name: "average_runtime",
      type: "number",
      precision: RUNTIME_PRECISION,
      description: "mean runtime in minutes (movies without one are skipped)",
    },
  ],
  sort: { average_rating: -1, movies: -1, genre: 1 },
  example: { released: { $gte: "1930", $lt: "1960" }, movies: { $gte: 10 } },
});
