import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { dateRange, limitStage, listMatch, matchStage, nameList, numberRange, rangeMatch, topN } from "../../filters.ts";
import { COMMENT_REPORTS_INDEX } from "../../comment-indexes.ts";

export default defineReport({
  name: "most-active-commenters",
  collection: "comments",
  description:
    "Commenters (by email) ranked by number of comments, with distinct movies and first/last comment dates (ties: email). Includes commenters who are not registered users.",
  params: object({
    comment_date: optional(dateRange()),
    /** Commenter names to include or exclude. */
    names: optional(nameList()),
    /** Bounds on a commenter's comment count. */
    comments: optional(numberRange()),
    top: topN(),
  }),
  pipeline: (filters) => [
    ...matchStage(rangeMatch("date", filters.comment_date), listMatch("name", filters.names)),
    {
      $group: {
        _id: "$email",
        // Every email has one name in this data; $first is enough and stays cheap.
        name: { $first: "$name" },
        comments: { $sum: 1 },
        // A set bounded by the movies collection (one commenter's distinct movies), far below
        // $addToSet's 100 MiB cap; unbounded distinct counts group twice (comments-per-month).
        movies: { $addToSet: "$movie_id" },
        first_comment: { $min: "$date" },
        last_comment: { $max: "$date" },
      },
    },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $sort: { comments: -1, _id: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, name: 1, email: "$_id", comments: 1, movies: { $size: "$movies" }, first_comment: 1, last_comment: 1 } },
  ],
  columns: [
    { name: "name", type: "string" },
    { name: "email", type: "string" },
    { name: "comments", type: "integer" },
    { name: "movies", type: "integer", description: "distinct movies commented on" },
    { name: "first_comment", type: "date" },
    { name: "last_comment", type: "date" },
  ],
  // A comment_date range becomes an index range; the other fields make the scan covered.
  indexes: [COMMENT_REPORTS_INDEX],
  // Without comment_date (or names) the index still covers the pipeline: a whole-index scan, not a collection scan.
  hint: COMMENT_REPORTS_INDEX.key,
  sort: { comments: -1, email: 1 },
  example: { comment_date: { $gte: "2010" }, top: 10 },
});
