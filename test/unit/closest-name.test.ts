/** "Did you mean …?" for unknown report names: near typos are suggested, far guesses are not. */
import * as assert from "uvu/assert";
import { closestName, editDistance } from "../../src/reports/closest-name.ts";
import { suite } from "../support/suite.ts";

const test = suite("closest report name");

const NAMES = ["top-directors-per-comment", "top-movies-per-rating", "genres-by-rating", "directors-per-comments"];

test("edit distance counts insertions, deletions and substitutions", () => {
  assert.is(editDistance("", "abc"), 3);
  assert.is(editDistance("kitten", "sitting"), 3);
  assert.is(editDistance("same", "same"), 0);
});

test("a typo finds its report; case does not matter", () => {
  assert.is(closestName("top-director-per-comment", NAMES), "top-directors-per-comment");
  assert.is(closestName("Top-Movies-Per-Ratting", NAMES), "top-movies-per-rating");
  assert.is(closestName("director-per-comments", NAMES), "directors-per-comments");
});

test("nothing is suggested for a name far from every report, or for an exact name", () => {
  assert.is(closestName("sales-by-region", NAMES), undefined);
  assert.is(closestName("x", NAMES), undefined);
  assert.is(closestName("genres-by-rating", NAMES), undefined);
  assert.is(closestName("anything", []), undefined);
});

test.run();
