/**
 * comments-per-month on comments lacking an email or a movie_id (the shipped data has none): a
 * missing value is no distinct commenter or movie, as it was not for the `$addToSet` the
 * report's double grouping replaced; the comment itself still counts.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { connect, type Database } from "../../src/db.ts";
import commentsPerMonth from "../../src/reports/catalogue/comments/comments-per-month.ts";
import usersByCommentActivity from "../../src/reports/catalogue/users/users-by-comment-activity.ts";
import { validateParams } from "../../src/reports/validation.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";

const test = suite("comments-per-month with missing fields");
let mongo: TestMongo;
let database: Database;

test.before(async () => {
  mongo = await startTestMongo("comments_missing");
  database = await connect(mongo.uri, mongo.dbName, "comments-missing-test");
});

test.after(async () => {
  await database?.close();
  await mongo?.stop();
});

test("a comment without email or movie_id counts as a comment, not as a distinct commenter or movie", async () => {
  const movie = new ObjectId();
  const date = new Date(Date.UTC(2015, 2, 10));
  await database.db.collection("comments").insertMany([
    { name: "A", email: "a@example.com", movie_id: movie, text: "x", date },
    { name: "B", movie_id: movie, text: "no email", date },
    { name: "C", email: "c@example.com", text: "no movie", date },
  ]);
  const params = validateParams({}, commentsPerMonth.params);
  const rows = await database.db.collection("comments").aggregate(commentsPerMonth.pipeline(params)).toArray();
  assert.equal(rows, [{ period: "2015-03", comments: 3, commenters: 2, movies: 1 }]);
});

test("users-by-comment-activity: a user without an email joins no comment, not the comments without one", async () => {
  await database.db.collection("users").insertMany([
    { name: "No Email", password: "x" },
    { name: "A", email: "a@example.com", password: "x" },
  ]);
  const params = validateParams({}, usersByCommentActivity.params);
  const rows = await database.db.collection("users").aggregate(usersByCommentActivity.pipeline(params)).toArray();
  const byName = new Map(rows.map((row) => [row.name, row]));
  assert.is(byName.get("No Email")?.comments, 0, JSON.stringify(rows));
  assert.is(byName.get("A")?.comments, 1);
});

test.run();
