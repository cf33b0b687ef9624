import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { choice, dateRange, listMatch, matchStage, nameList, numberRange, rangeMatch } from "../../filters.ts";
import { COMMENT_REPORTS_INDEX } from "../../comment-indexes.ts";

export default defineReport({
  name: "comments-per-month",
  collection: "comments",
  description:
    "Comments per calendar month (or year), in UTC, oldest first, with how many distinct people commented and on how many distinct movies.",
  params: object({
    period: choice(["month", "year"], "month", "month: rows like 2012-03; year: rows like 2012"),
    comment_date: optional(dateRange()),
    /** Commenter names to include or exclude. */
    names: optional(nameList()),
    /** Bounds on a period's comment count. */
    comments: optional(numberRange()),
  }),
  pipeline: (filters) => [
    ...matchStage(rangeMatch("date", filters.comment_date), listMatch("name", filters.names)),
    // Distinct commenters and movies per period by grouping twice, not with $addToSet (whose set
    // is capped at 100 MiB per group): one row per (period, commenter) and per (period, movie),
    // then one per period that counts them. A missing email or movie_id would group as one null
    // value; `present` keeps it out of the distinct counts, as $addToSet skipped missing values
    // (an explicit null, which $addToSet kept, is no commenter or movie either: also left out).
    {
      $project: {
        _id: 0,
        period: { $dateToString: { format: filters.period === "year" ? "%Y" : "%Y-%m", date: "$date" } },
        keys: [
          { kind: "commenter", value: "$email", present: { $ne: [{ $ifNull: ["$email", null] }, null] } },
          { kind: "movie", value: "$movie_id", present: { $ne: [{ $ifNull: ["$movie_id", null] }, null] } },
        ],
      },
    },
    { $unwind: "$keys" },
    { $group: { _id: { period: "$period", kind: "$keys.kind", value: "$keys.value", present: "$keys.present" }, comments: { $sum: 1 } } },
    {
      $group: {
        _id: "$_id.period",
        // Each comment is counted once, under its commenter.
        comments: { $sum: { $cond: [{ $eq: ["$_id.kind", "commenter"] }, "$comments", 0] } },
        commenters: { $sum: { $cond: [{ $and: [{ $eq: ["$_id.kind", "commenter"] }, "$_id.present"] }, 1, 0] } },
        movies: { $sum: { $cond: [{ $and: [{ $eq: ["$_id.kind", "movie"] }, "$_id.present"] }, 1, 0] } },
      },
    },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $sort: { _id: 1 } },
    { $project: { _id: 0, period: "$_id", comments: 1, commenters: 1, movies: 1 } },
  ],
  columns: [
    { name: "period", type: "string", description: "YYYY-MM (or YYYY), UTC" },
    { name: "comments", type: "integer" },
    { name: "commenters", type: "integer", description: "distinct commenter emails" },
    { name: "movies", type: "integer", description: "distinct movies commented on" },
  ],
  // A comment_date range becomes an index range; the other fields make the scan covered.
  indexes: [COMMENT_REPORTS_INDEX],
  // Without comment_date (or names) the index still covers the pipeline: a whole-index scan, not a collection scan.
  hint: COMMENT_REPORTS_INDEX.key,
  sort: { period: 1 },
  example: { comment_date: { $gte: "2015", $lte: "2017" } },
});
