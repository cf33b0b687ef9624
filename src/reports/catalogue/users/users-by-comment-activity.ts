import { object, optional } from "superstruct";
import { defineReport } from "../../define.ts";
import { dateRange, limitStage, listMatch, matchStage, nameList, numberRange, rangeMatch, topN } from "../../filters.ts";

/** Not an email address: the join key of a user without one. */
const NO_EMAIL = "\u0000no email";

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
  // Per user, one index range on comments {email, date}: the sub-pipeline matches the user's email
  // (an $expr equality on a $lookup variable uses an index since MongoDB 5.0) and the date range,
  // then sums per movie and per user, so neither a user's comments nor a set of their movies is
  // ever held in one document. (The shorter localField/foreignField + pipeline form would do the
  // same on MongoDB 5.0+; it is not used because the embedded test server refuses it.)
  pipeline: (filters) => [
    ...matchStage(listMatch("name", filters.names)),
    {
      $lookup: {
        from: "comments",
        // A user without an email joins no comment: the sentinel (no email can be it) keeps
        // the sub-pipeline a one-point index range, where a missing email would match every
        // comment whose email is missing too, after scanning them all.
        let: { email: { $ifNull: ["$email", NO_EMAIL] } },
        pipeline: [
          { $match: { $expr: { $eq: ["$email", "$$email"] }, ...rangeMatch("date", filters.comment_date) } },
          { $group: { _id: "$movie_id", comments: { $sum: 1 }, first: { $min: "$date" }, last: { $max: "$date" } } },
          {
            $group: {
              _id: null,
              comments: { $sum: "$comments" },
              movies: { $sum: 1 },
              first_comment: { $min: "$first" },
              last_comment: { $max: "$last" },
            },
          },
        ],
        as: "activity",
      },
    },
    // No comments (in range): no activity row, so 0 comments and movies, no first or last date.
    { $unwind: { path: "$activity", preserveNullAndEmptyArrays: true } },
    {
      $project: {
        name: 1,
        email: 1,
        comments: { $ifNull: ["$activity.comments", 0] },
        movies: { $ifNull: ["$activity.movies", 0] },
        first_comment: { $ifNull: ["$activity.first_comment", null] },
        last_comment: { $ifNull: ["$activity.last_comment", null] },
      },
    },
    ...matchStage(rangeMatch("comments", filters.comments)),
    { $sort: { comments: -1, email: 1 } },
    ...limitStage(filters.top),
    { $project: { _id: 0, name: 1, email: 1, comments: 1, movies: 1, first_comment: 1, last_comment: 1 } },
  ],
  columns: [
    { name: "name", type: "string" },
    { name: "email", type: "string" },
    { name: "comments", type: "integer", description: "the user's comments (within comment_date)" },
    { name: "movies", type: "integer", description: "distinct movies commented on" },
    { name: "first_comment", type: "date", description: "null for users without comments" },
    { name: "last_comment", type: "date", description: "null for users without comments" },
  ],
  indexes: [{ collection: "comments", key: { email: 1, date: 1 } }],
  sort: { comments: -1, email: 1 },
  example: { comment_date: { $gte: "2015" }, comments: { $gte: 1 }, top: 10 },
});
