/**
 * The index the comment reports share. Their pipelines start with a `$match` on a `date` range
 * (comment_date) and read only date, movie_id, email and name, so on a large `comments`
 * collection this one index turns every dated request into an index range scan that never
 * fetches a document (a covered scan), for all four reports at the cost of one index.
 */
import type { IndexDeclaration } from "./define.ts";

export const COMMENT_REPORTS_INDEX: IndexDeclaration = { collection: "comments", key: { date: 1, movie_id: 1, email: 1, name: 1 } };
