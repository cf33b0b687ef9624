import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { choice, dateRange, listMatch, matchStage, nameList, numberRange, rangeMatch } from "../../filters.ts";

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
    {
      $group: {
        _id: { $dateToString: { format: filters.period === "year" ? "%Y" : "%Y-%m", date: "$date" } },
        comments: { $sum: 1 },
        commenters: { $addToSet: "$email" },
        movies: { $addToSet: "$movie_id" },
      },
    },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $sort: { _id: 1 } },
    { $project: { _id: 0, period: "$_id", comments: 1, commenters: { $size: "$commenters" }, movies: { $size: "$movies" } } },
  ],
  columns: [
    { name: "period", description: "YYYY-MM (or YYYY), UTC" },
    { name: "comments" },
    { name: "commenters", description: "distinct commenter emails" },
    { name: "movies", description: "distinct movies commented on" },
  ],
  sort: { period: 1 },
  example: { comment_date: { $gte: "2015", $lte: "2017" } },
});
