import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { dateRange, limitStage, listMatch, matchStage, nameList, numberRange, rangeMatch, topN } from "../../filters.ts";
import { COMMENT_REPORTS_INDEX } from "../../comment-indexes.ts";

export default defineReport({
  name: "top-directors-per-comment",
  collection: "comments",
  description:
    "Directors ranked by the number of comments on their movies (ties: more movies first, then name). A comment on a movie with several directors counts once for each.",
  params: object({
    /** Bounds on a director's comment count, e.g. {"$gt": 10, "$lt": 500}. */
    comments: optional(numberRange()),
    /** Only comments written in this range (years or ISO dates). */
    comment_date: optional(dateRange()),
    /** Only movies released in this range (years or ISO dates). */
    released: optional(dateRange()),
    directors: optional(nameList()),
    top: topN(),
  }),
  // Runs on comments and joins towards movies._id: grouping comments per movie first leaves one
  // lookup per commented movie, by primary key (the cheap direction on any MongoDB).
  pipeline: (filters) => [
    ...matchStage(rangeMatch("date", filters.comment_date)),
    { $group: { _id: "$movie_id", comments: { $sum: 1 } } },
    { $lookup: { from: "movies", localField: "_id", foreignField: "_id", as: "movie" } },
    { $unwind: "$movie" },
    ...matchStage(rangeMatch("movie.released", filters.released)),
    { $project: { comments: 1, directors: { $setUnion: ["$movie.directors", []] } } },
    { $unwind: "$directors" },
    ...matchStage(listMatch("directors", filters.directors)),
    { $group: { _id: "$directors", comments: { $sum: "$comments" }, movies: { $sum: 1 } } },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $sort: { comments: -1, movies: -1, _id: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, director: "$_id", comments: 1, movies: 1 } },
  ],
  columns: [
    { name: "director", type: "string" },
    { name: "comments", type: "integer", description: "comments on the director's movies" },
    { name: "movies", type: "integer", description: "commented movies by the director" },
  ],
  // The design document's request: POST /v1/movies/directors-per-comments with comment_threshold,
  // a time range and include/exclude lists of directors.
  aliases: {
    routes: ["movies/directors-per-comments"],
    parameters: { comment_threshold: "comments", time_range: "comment_date", movie_released_at: "released" },
  },
  // A comment_date range becomes an index range; the other fields make the scan covered.
  indexes: [COMMENT_REPORTS_INDEX],
  // Without comment_date (or names) the index still covers the pipeline: a whole-index scan, not a collection scan.
  hint: COMMENT_REPORTS_INDEX.key,
  sort: { comments: -1, movies: -1, director: 1 },
  example: { comments: { $gt: 5 }, comment_date: { $gt: "1990", $lt: "2021" }, top: 10 },
});
