/**
 * The note `npm start` publishes about its demo data: counts and the years the movies span, so a
 * newcomer knows why "released 1990–2021" finds little.
 */
import * as assert from "uvu/assert";
import { demoDatasetNote } from "../../scripts/lib/demo-data.ts";
import { suite } from "../support/suite.ts";

const test = suite("demo data note");

test("names the counts and the movies' years", () => {
  const note = demoDatasetNote({ movies: 1000, comments: 50303, users: 185, theaters: 1564 }, { first: 1903, last: 1959 });
  assert.match(note, /1,000 movies made between 1903 and 1959/);
  assert.match(note, /50,303 comments/);
  assert.match(note, /185 users and 1,564 theaters/);
  assert.match(note, /MONGODB_URI/);
});

test("without years it still says what is there", () => {
  const note = demoDatasetNote({ movies: 0 }, null);
  assert.match(note, /0 movies, 0 comments/);
});

test.run();
