/**
 * The movie reports, each run through the API on the shared movies file and checked against a
 * plain-code computation over the same file.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import type { Document } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix, readMflix } from "../support/mflix.ts";
import { roundTo } from "../../src/results/precision.ts";
import { assertRows, byString, isNumber, mean, rank, runReport, within, year, type Bounds, type Row } from "../support/reports.ts";

const test = suite("reports: movies");
let mongo: TestMongo;
let service: TestService;
let movies: Document[];

test.before(async () => {
  mongo = await startTestMongo("reports_movies");
  service = await startTestService(mongo);
  await loadMflix(service.context.database.db, ["movies"]);
  movies = await readMflix("movies");
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const rated = (m: Document) => isNumber(m.imdb?.rating);
/** Averages as the reports declare them: rounded to the column's precision in the rows. */
const rounded = (value: number | null | undefined, places: number) => (typeof value === "number" ? roundTo(value, places) : value);
const listOk = (values: string[] | undefined, list?: { include?: string[]; exclude?: string[] }) =>
  !list ||
  ((!list.include || (values ?? []).some((v) => list.include!.includes(v))) &&
    (!list.exclude || !(values ?? []).some((v) => list.exclude!.includes(v))));

/** People (directors, cast, writers) per matching movie, each once per movie. */
function people(matching: Document[], field: string, list?: { include?: string[]; exclude?: string[] }) {
  const byName = new Map<string, { ratings: number[]; runtimes: number[] }>();
  for (const m of matching) {
    for (const name of new Set<string>(m[field] ?? [])) {
      if (list?.include && !list.include.includes(name)) continue;
      if (list?.exclude && list.exclude.includes(name)) continue;
      const entry = byName.get(name) ?? { ratings: [], runtimes: [] };
      entry.ratings.push(m.imdb.rating);
      if (isNumber(m.runtime)) entry.runtimes.push(m.runtime);
      byName.set(name, entry);
    }
  }
  return byName;
}

test("top-movies-per-rating: ranges, vote floor, date years and an exclude list", async () => {
  const body = {
    report_name: "top-movies-per-rating",
    rating: { $gte: 7 },
    min_votes: 1000,
    released: { $gte: "1940", $lte: "1949" },
    genres: { exclude: ["Comedy"] },
    top: 15,
  };
  const rows = await runReport(service.url, body);
  const expected = movies
    .filter((m) => rated(m) && m.imdb.rating >= 7 && isNumber(m.imdb.votes) && m.imdb.votes >= 1000)
    .filter((m) => within(m.released, { $gte: year(1940), $lt: year(1950) }) && listOk(m.genres, { exclude: ["Comedy"] }))
    .sort(
      (a, b) =>
        b.imdb.rating - a.imdb.rating ||
        b.imdb.votes - a.imdb.votes ||
        byString(a.title, b.title) ||
        byString(String(a._id), String(b._id)),
    )
    .slice(0, 15);
  assert.equal(
    rows.map((r) => r.movie_id),
    expected.map((m) => String(m._id)),
  );
  assert.equal(rows[0].rating, expected[0].imdb.rating);
  assert.is(rows[0].released, expected[0].released.toISOString());
});

test("top-directors-per-movie-rating: averages, movie-count range, per-collection alias", async () => {
  const rows = await runReport(
    service.url,
    { report_name: "top-directors-per-movie-rating", rating: { $gt: 6 }, movies: { $gte: 3 } },
    { alias: "movies" },
  );
  const matching = movies.filter((m) => rated(m) && m.imdb.rating > 6);
  const expected = rank(
    [...people(matching, "directors")]
      .map(([name, e]) => ({
        name,
        average_rating: rounded(mean(e.ratings), 2)!,
        average_screen_playtime: rounded(mean(e.runtimes), 1),
        movies: e.ratings.length,
      }))
      .filter((r) => r.movies >= 3),
    [
      ["average_rating", -1],
      ["movies", -1],
      ["name", 1],
    ],
  );
  assert.ok(expected.length > 10);
  assertRows(rows, expected, "top-directors-per-movie-rating", [
    ["average_rating", -1],
    ["movies", -1],
    ["name", 1],
  ]);
});

test("genres-by-rating: released years and an exclude list", async () => {
  const rows = await runReport(service.url, {
    report_name: "genres-by-rating",
    released: { $gte: "1930", $lt: "1960" },
    genres: { exclude: ["Short"] },
    movies: { $gte: 5 },
  });
  const matching = movies.filter(
    (m) => rated(m) && within(m.released, { $gte: year(1930), $lt: year(1960) }) && listOk(m.genres, { exclude: ["Short"] }),
  );
  const expected = rank(
    [...people(matching, "genres", { exclude: ["Short"] })]
      .map(([genre, e]) => ({
        genre,
        average_rating: rounded(mean(e.ratings), 2)!,
        movies: e.ratings.length,
        average_runtime: rounded(mean(e.runtimes), 1),
      }))
      .filter((r) => r.movies >= 5),
    [
      ["average_rating", -1],
      ["movies", -1],
      ["genre", 1],
    ],
  );
  assert.ok(expected.length > 5);
  assertRows(rows, expected, "genres-by-rating", [
    ["average_rating", -1],
    ["movies", -1],
    ["genre", 1],
  ]);
});

function perPeriod(filter: (m: Document) => boolean, period: (y: number) => number): Row[] {
  const groups = new Map<number, Document[]>();
  for (const m of movies.filter((m) => typeof m.year === "number" && filter(m))) {
    const key = period(m.year);
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups]
    .sort(([a], [b]) => a - b)
    .map(([key, ms]) => ({
      period: key,
      movies: ms.length,
      average_rating: rounded(mean(ms.filter(rated).map((m) => m.imdb.rating)), 2),
      average_runtime: rounded(mean(ms.filter((m) => isNumber(m.runtime)).map((m) => m.runtime)), 1),
    }));
}

test("movies-per-period: decades by default, and years with a genre list", async () => {
  const decades = await runReport(service.url, { report_name: "movies-per-period" });
  assertRows(
    decades,
    perPeriod(
      () => true,
      (y) => y - (y % 10),
    ),
    "decades",
  );
  assert.is(
    decades.reduce((n, r) => n + r.movies, 0),
    movies.length,
  );

  const years = await runReport(service.url, {
    report_name: "movies-per-period",
    period: "year",
    years: { $gte: 1940, $lte: 1945 },
    genres: { include: ["Drama"] },
  });
  assertRows(
    years,
    perPeriod(
      (m) => m.year >= 1940 && m.year <= 1945 && listOk(m.genres, { include: ["Drama"] }),
      (y) => y,
    ),
    "years",
  );
  assert.is(years.length, 6);
});

const ORDER: Record<"rating" | "movies", [string, 1 | -1][]> = {
  movies: [
    ["movies", -1],
    ["average_rating", -1],
    ["name", 1],
  ],
  rating: [
    ["average_rating", -1],
    ["movies", -1],
    ["name", 1],
  ],
};

function peopleRanking(
  field: string,
  matching: Document[],
  rankBy: "rating" | "movies",
  moviesRange?: Bounds,
  list?: { include?: string[] },
) {
  const rows = [...people(matching, field, list)]
    .map(([name, e]) => ({ name, average_rating: rounded(mean(e.ratings), 2)!, movies: e.ratings.length }))
    .filter((r) => within(r.movies, moviesRange));
  return rank(rows, ORDER[rankBy]);
}

test("top-actors: by movie count, and by rating for named actors", async () => {
  const byCount = await runReport(service.url, { report_name: "top-actors", rank_by: "movies", movies: { $gte: 6 } });
  assertRows(byCount, peopleRanking("cast", movies.filter(rated), "movies", { $gte: 6 }), "top-actors by movies", ORDER.movies);

  const named = ["Cary Grant", "James Stewart", "Bette Davis"];
  const chosen = await runReport(service.url, { report_name: "top-actors", actors: { include: named } });
  const matching = movies.filter((m) => rated(m) && listOk(m.cast, { include: named }));
  assertRows(chosen, peopleRanking("cast", matching, "rating", undefined, { include: named }), "top-actors named", ORDER.rating);
  assert.is(chosen.length, 3);
});

test("top-writers: vote floor, movie-count range, top N", async () => {
  const rows = await runReport(service.url, { report_name: "top-writers", min_votes: 500, movies: { $gte: 2 }, top: 10 });
  const matching = movies.filter((m) => rated(m) && isNumber(m.imdb.votes) && m.imdb.votes >= 500);
  assertRows(rows, peopleRanking("writers", matching, "rating", { $gte: 2 }).slice(0, 10), "top-writers", ORDER.rating);
});

test("the report filters reject what they do not know, with the field named", async () => {
  const { post } = await import("../support/http.ts");
  const response = await post(`${service.url}/v1/reports`, { report_name: "top-actors", rank_by: "fame", movies: { $where: "1" } });
  assert.is(response.status, 400);
  const fields = response.body.errors.map((e: { field: string }) => e.field);
  assert.ok(fields.includes("rank_by"), JSON.stringify(response.body));
  assert.ok(
    fields.some((f: string) => f.startsWith("movies")),
    JSON.stringify(response.body),
  );
});

test.run();
