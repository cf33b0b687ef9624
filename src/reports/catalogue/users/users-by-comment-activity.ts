import { object, optional } from "superstruct";
import type { Document } from "mongodb";
import { defineReport } from "../../define.ts";
import { dateRange, limitStage, listMatch, matchStage, nameList, numberRange, rangeMatch, topN, type DateRange } from "../../filters.ts";

/** `$filter` condition keeping joined comments whose date is within `range`. */
function dateCondition(range: DateRange | undefined): Document {
  const bounds = Object.entries(range ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([op, value]) => ({ [op]: ["$$c.date", value] }));
  return bounds.length === 0 ? { $literal: true } : { $and: bounds };
}

export default defineReport({
  name: "users-by-comment-activity",
  collection: "users",
  description:
    "Registered users with their comment activity (users joined to comments by email), most active first (ties: email). Users without comments are listed with 0 unless a comments range excludes them.",
  params: object({
    /** Count only comments written in this range. */
    comment_date: optional(dateRange()),
    /** Bounds on a user's (counted) comments, e.g. {"$gte": 1}. */
    comments: optional(numberRange()),
    /** User names to include or exclude. */
    names: optional(nameList()),
    top: topN(),
  }),
  // The join runs from users (185) to comments by email. On real MongoDB give comments an index
  // on email; without one each user scans comments (seconds on the test server, see design.md).
  pipeline: (filters) => [
    ...matchStage(listMatch("name", filters.names)),
    { $lookup: { from: "comments", localField: "email", foreignField: "email", as: "joined" } },
    {
      $project: {
        name: 1,
        email: 1,
        joined: { $filter: { input: "$joined", as: "c", cond: dateCondition(filters.comment_date) } },
      },
    },
    {
      $project: {
        name: 1,
        email: 1,
        comments: { $size: "$joined" },
        movies: { $size: { $setUnion: ["$joined.movie_id", []] } },
        first_comment: { $min: "$joined.date" },
        last_comment: { $max: "$joined.date" },
      },
    },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $sort: { comments: -1, email: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, name: 1, email: 1, comments: 1, movies: 1, first_comment: 1, last_comment: 1 } },
  ],
  columns: [
    { name: "name" },
    { name: "email" },
    { name: "comments", description: "the user's comments (within comment_date)" },
    { name: "movies", description: "distinct movies commented on" },
    { name: "first_comment", description: "null for users without comments" },
    { name: "last_comment", description: "null for users without comments" },
  ],
  sort: { comments: -1, email: 1 },
  example: { comment_date: { $gte: "2015" }, comments: { $gte: 1 }, top: 10 },
});
