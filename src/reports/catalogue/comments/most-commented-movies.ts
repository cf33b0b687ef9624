import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { dateRange, limitStage, listMatch, matchStage, nameList, numberRange, rangeMatch, topN } from "../../filters.ts";
import { COMMENT_REPORTS_INDEX } from "../../comment-indexes.ts";

export default defineReport({
  name: "most-commented-movies",
  collection: "comments",
  description:
    "Movies ranked by number of comments (ties: title, then id). Comments on movies that are not in the movies collection are left out.",
  params: object({
    /** Only comments written in this range (years or ISO dates). */
    comment_date: optional(dateRange()),
    /** Bounds on a movie's comment count, e.g. {"$gte": 5}. */
    comments: optional(numberRange()),
    /** Only movies released in this range. */
    released: optional(dateRange()),
    genres: optional(nameList()),
    top: topN(),
  }),
  // Counting per movie first leaves one primary-key lookup per commented movie: the cheap
  // direction of this join on any MongoDB (movies → comments by movie_id scans comments).
  pipeline: (filters) => [
    ...matchStage(rangeMatch("date", filters.comment_date)),
    { $group: { _id: "$movie_id", comments: { $sum: 1 } } },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $lookup: { from: "movies", localField: "_id", foreignField: "_id", as: "movie" } },
    { $unwind: "$movie" },
    ...matchStage(rangeMatch("movie.released", filters.released), listMatch("movie.genres", filters.genres)),
    { $project: { comments: 1, title: "$movie.title", year: "$movie.year" } },
    { $sort: { comments: -1, title: 1, _id: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, movie_id: "$_id", title: 1, year: 1, comments: 1 } },
  ],
  // year stays undeclared: some copies of the dataset hold text years ("2005è"), so in Parquet it is
  // a text column (1999 as "1999"); Excel keeps each cell's own type.
  columns: [
    { name: "movie_id", type: "string" },
    { name: "title", type: "string" },
    { name: "year" },
    { name: "comments", type: "integer", description: "matching comments on the movie" },
  ],
  // A comment_date range becomes an index range; the other fields make the scan covered.
  indexes: [COMMENT_REPORTS_INDEX],
  // Without comment_date (or names) the index still covers the pipeline: a whole-index scan, not a collection scan.
  hint: COMMENT_REPORTS_INDEX.key,
  sort: { comments: -1, title: 1, movie_id: 1 },
  example: { comment_date: { $gte: "2000" }, top: 10 },
});
