/** Report aliases (reports/aliases.ts): names, routes and parameter names resolved without a database. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { object, optional } from "superstruct";
import { aliasProblems, defineReport, type ReportDefinition } from "../../src/reports/define.ts";
import { numberRange } from "../../src/reports/filters.ts";
import { ValidationError } from "../../src/reports/validation.ts";
import { createRegistry } from "../../src/reports/code-modules.ts";
import {
  aliasClashes,
  canonicalParameters,
  describeAliases,
  routesUnder,
  resolveReportName,
  resolveRoute,
  routesOf,
  validateWithAliases,
} from "../../src/reports/aliases.ts";

const test = suite("report aliases");

const directors = defineReport({
  name: "top-directors-per-comment",
  collection: "comments",
  description: "d",
  params: object({ comments: optional(numberRange()), rating: optional(numberRange()) }),
  pipeline: () => [],
  columns: [{ name: "director" }],
  aliases: {
    names: ["directors-by-comments"],
    routes: ["movies/directors-per-comments", "directors"],
    parameters: { comment_threshold: "comments", threshold: "comments" },
  },
});
const other: ReportDefinition<any> = { ...directors, name: "other", aliases: undefined };

test("names and routes resolve to the report; canonical names win", () => {
  const reports = [other, directors];
  assert.is(resolveReportName(reports, "top-directors-per-comment"), directors);
  assert.is(resolveReportName(reports, "directors-by-comments"), directors);
  assert.is(resolveReportName(reports, "nope"), undefined);
  assert.equal(routesOf(directors), [
    "comments/top-directors-per-comment",
    "comments/directors-by-comments",
    "movies/directors-per-comments",
    "directors",
  ]);
  assert.is(resolveRoute(reports, "movies/directors-per-comments"), directors);
  assert.is(resolveRoute(reports, "directors"), directors);
  assert.is(resolveRoute(reports, "comments/other"), other);
  assert.is(resolveRoute(reports, "movies/other"), undefined, "a route is declared, not derived from any collection");
  // What answers on /v1/movies/…: the route's own name there, not the report's name.
  assert.equal(routesUnder(reports, "movies"), ["directors-per-comments"]);
  assert.equal(routesUnder(reports, "comments"), ["directors-by-comments", "other", "top-directors-per-comment"]);
  assert.equal(routesUnder(reports), ["directors"], "one-segment routes");
  assert.equal(describeAliases(directors).routes, [
    "/v1/comments/top-directors-per-comment",
    "/v1/comments/directors-by-comments",
    "/v1/movies/directors-per-comments",
    "/v1/directors",
  ]);
});

test("parameter aliases are renamed to canonical names; a canonical name and its alias together is an error naming both", () => {
  assert.equal(canonicalParameters(directors, { comment_threshold: { $gt: 1 }, rating: { $gt: 2 } }).params, {
    comments: { $gt: 1 },
    rating: { $gt: 2 },
  });
  const both = canonicalParameters(directors, { comments: { $gt: 1 }, comment_threshold: { $gt: 2 } });
  assert.equal(both.errors, [
    { field: "comment_threshold", message: "comment_threshold is an alias of comments: give comments or comment_threshold, not both" },
  ]);
  const twoAliases = canonicalParameters(directors, { comment_threshold: { $gt: 1 }, threshold: { $gt: 2 } });
  assert.ok(twoAliases.errors[0].message.includes("comment_threshold") && twoAliases.errors[0].message.includes("threshold"));
});

test("an alias is validated exactly like its canonical name, and errors name the field as sent", () => {
  assert.equal(validateWithAliases(directors, { comment_threshold: { $gt: 1, $lt: 9 } }), { comments: { $gt: 1, $lt: 9 } });
  try {
    validateWithAliases(directors, { comment_threshold: { $gt: "x" }, colour: 1 });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.equal((error as ValidationError).errors.map((e) => e.field).sort(), ["colour", "comment_threshold.$gt"]);
  }
});

test("bad alias declarations are refused when the report is defined", () => {
  const with_ = (aliases: ReportDefinition<any>["aliases"]) => aliasProblems({ ...other, aliases });
  assert.ok(with_({ names: ["Not Kebab"] })[0].includes("kebab-case"));
  assert.ok(with_({ routes: ["a/b/c"] })[0].includes("segments"));
  assert.ok(with_({ routes: ["reports"] })[0].includes("service's own routes"));
  assert.ok(with_({ parameters: { x: "missing" } })[0].includes("not a parameter"));
  assert.ok(with_({ parameters: { rating: "comments" } })[0].includes("parameter of its own"));
  assert.throws(() => defineReport({ ...other, aliases: { parameters: { x: "missing" } } }), /not a parameter/);
});

test("the shipped catalogue declares the design document's aliases, and no name or route is claimed twice", async () => {
  const registry = await createRegistry();
  const reports = registry.list();
  assert.equal(aliasClashes(reports), []);
  assert.equal(aliasClashes([directors, { ...other, aliases: { names: ["directors-by-comments"] } }]), [
    "name directors-by-comments: top-directors-per-comment and other",
    "route /v1/comments/directors-by-comments: top-directors-per-comment and other",
  ]);
  assert.is(resolveRoute(reports, "movies/directors-per-comments")?.name, "top-directors-per-comment");
  assert.is(resolveRoute(reports, "movies/movies-per-rating")?.name, "top-movies-per-rating");
  assert.is(resolveRoute(reports, "movies-per-rating")?.name, "top-movies-per-rating");
  assert.is(resolveReportName(reports, "top-directors-per-moving-rating")?.name, "top-directors-per-movie-rating");
  const movies = registry.get("top-movies-per-rating")!;
  assert.equal(validateWithAliases(movies, { rating_threshold: { $gt: 8 }, writors: { include: ["A"] } }), {
    rating: { $gt: 8 },
    writers: { include: ["A"] },
  });
});

test.run();
