/**
 * The comment, user and theater reports (two of them data-defined seeds), each run through the
 * API on the shared files and checked against a plain-code computation over the same files.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import type { Document } from "mongodb";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix, readMflix } from "../support/mflix.ts";
import { post } from "../support/http.ts";
import { assertRows, byString, runReport, within, year, type Bounds, type Row } from "../support/reports.ts";

const test = suite("reports: comments, users, theaters");
let mongo: TestMongo;
let service: TestService;
let movies: Map<string, Document>;
let comments: Document[];
let users: Document[];
let theaters: Document[];

test.before(async () => {
  mongo = await startTestMongo("reports_activity");
  // Long leases: on the embedded server the comment and user reports take tens of seconds under
  // load (it groups and joins slowly, see design.md), and a lease lost mid-run would only re-run them.
  service = await startTestService(mongo, { config: { leaseMs: 120_000 } });
  await loadMflix(service.context.database.db, ["movies", "comments", "users", "theaters"]);
  movies = new Map((await readMflix("movies")).map((m) => [String(m._id), m]));
  comments = await readMflix("comments");
  users = await readMflix("users");
  theaters = await readMflix("theaters");
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const iso = (d: Date | undefined) => d?.toISOString();

test("top-directors-per-comment: comment dates and a comment-count range", async () => {
  const rows = await runReport(service.url, {
    report_name: "top-directors-per-comment",
    comment_date: { $gte: "2000" },
    comments: { $gt: 5 },
  });
  const perMovie = new Map<string, number>();
  for (const c of comments) if (c.date >= year(2000)) perMovie.set(String(c.movie_id), (perMovie.get(String(c.movie_id)) ?? 0) + 1);
  const byDirector = new Map<string, { comments: number; movies: number }>();
  for (const [id, count] of perMovie) {
    const movie = movies.get(id);
    if (!movie) continue; // comments on movies that are not shipped
    for (const director of new Set<string>(movie.directors ?? [])) {
      const entry = byDirector.get(director) ?? { comments: 0, movies: 0 };
      entry.comments += count;
      entry.movies += 1;
      byDirector.set(director, entry);
    }
  }
  const expected = [...byDirector]
    .map(([director, e]) => ({ director, ...e }))
    .filter((r) => r.comments > 5)
    .sort((a, b) => b.comments - a.comments || b.movies - a.movies || byString(a.director, b.director));
  assert.ok(expected.length > 3, `${expected.length} directors`);
  assertRows(rows, expected, "top-directors-per-comment");
});

function commentedMovies(dates?: Bounds, released?: Bounds) {
  const perMovie = new Map<string, number>();
  for (const c of comments) if (within(c.date, dates)) perMovie.set(String(c.movie_id), (perMovie.get(String(c.movie_id)) ?? 0) + 1);
  return [...perMovie]
    .filter(([id]) => movies.has(id) && (!released || within(movies.get(id)!.released, released)))
    .map(([id, count]) => ({ movie_id: id, title: movies.get(id)!.title, year: movies.get(id)!.year, comments: count }))
    .sort((a, b) => b.comments - a.comments || byString(a.title, b.title) || byString(a.movie_id, b.movie_id));
}

test("most-commented-movies: all shipped movies, then dates, release years and top", async () => {
  const all = await runReport(service.url, { report_name: "most-commented-movies" }, { alias: "comments" });
  const expectedAll = commentedMovies();
  assert.is(expectedAll.length, 308, "the README: 308 shipped movies have comments");
  assertRows(all, expectedAll, "most-commented-movies");
  assert.is(
    all.reduce((n, r) => n + r.comments, 0),
    770,
  );

  const some = await runReport(service.url, {
    report_name: "most-commented-movies",
    comment_date: { $lt: "1990" },
    released: { $gte: "1940", $lt: "1950" },
    top: 20,
  });
  assertRows(
    some,
    commentedMovies({ $lt: year(1990) }, { $gte: year(1940), $lt: year(1950) }).slice(0, 20),
    "most-commented-movies filtered",
  );
});

function perPeriod(format: (d: Date) => string, keep: (c: Document) => boolean): Row[] {
  const groups = new Map<string, { comments: number; emails: Set<string>; movies: Set<string> }>();
  for (const c of comments.filter(keep)) {
    const key = format(c.date);
    const g = groups.get(key) ?? { comments: 0, emails: new Set(), movies: new Set() };
    g.comments++;
    g.emails.add(c.email);
    g.movies.add(String(c.movie_id));
    groups.set(key, g);
  }
  return [...groups]
    .sort(([a], [b]) => byString(a, b))
    .map(([period, g]) => ({ period, comments: g.comments, commenters: g.emails.size, movies: g.movies.size }));
}

test("comments-per-month: every month in UTC, and years without some commenters", async () => {
  const months = await runReport(service.url, { report_name: "comments-per-month" });
  const month = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  assertRows(
    months,
    perPeriod(month, () => true),
    "months",
  );
  assert.is(
    months.reduce((n, r) => n + r.comments, 0),
    50_303,
  );

  const excluded = ["Mace Tyrell", "Missandei"];
  const years = await runReport(service.url, {
    report_name: "comments-per-month",
    period: "year",
    names: { exclude: excluded },
    comment_date: { $gte: "2000", $lte: "2009" },
  });
  const expected = perPeriod(
    (d) => String(d.getUTCFullYear()),
    (c) => !excluded.includes(c.name) && c.date >= year(2000) && c.date < year(2010),
  );
  assert.is(expected.length, 10);
  assertRows(years, expected, "years");
});

function activity(keep: (c: Document) => boolean) {
  const byEmail = new Map<string, { name: string; comments: number; movies: Set<string>; first: Date; last: Date }>();
  for (const c of comments.filter(keep)) {
    const e = byEmail.get(c.email) ?? { name: c.name, comments: 0, movies: new Set<string>(), first: c.date, last: c.date };
    e.comments++;
    e.movies.add(String(c.movie_id));
    if (c.date < e.first) e.first = c.date;
    if (c.date > e.last) e.last = c.date;
    byEmail.set(c.email, e);
  }
  return byEmail;
}

test("most-active-commenters: a date range and a comment-count floor", async () => {
  const rows = await runReport(service.url, {
    report_name: "most-active-commenters",
    comment_date: { $gte: "2010" },
    comments: { $gte: 40 },
  });
  const expected = [...activity((c) => c.date >= year(2010))]
    .map(([email, e]) => ({
      name: e.name,
      email,
      comments: e.comments,
      movies: e.movies.size,
      first_comment: iso(e.first),
      last_comment: iso(e.last),
    }))
    .filter((r) => r.comments >= 40)
    .sort((a, b) => b.comments - a.comments || byString(a.email, b.email));
  assert.ok(expected.length > 5);
  assertRows(rows, expected, "most-active-commenters");
});

function usersActivity(keep: (c: Document) => boolean) {
  const byEmail = activity(keep);
  return users
    .map((u) => {
      const e = byEmail.get(u.email);
      return {
        name: u.name,
        email: u.email,
        comments: e?.comments ?? 0,
        movies: e?.movies.size ?? 0,
        // A user without comments has no first/last comment: null.
        first_comment: e ? iso(e.first) : null,
        last_comment: e ? iso(e.last) : null,
      };
    })
    .sort((a, b) => b.comments - a.comments || byString(a.email, b.email));
}

test("users-by-comment-activity: users joined to comments, on the /v1/users alias", async () => {
  const all = await runReport(service.url, { report_name: "users-by-comment-activity" }, { alias: "users" });
  const expected = usersActivity(() => true);
  assert.is(expected.length, 185);
  assertRows(all, expected, "users-by-comment-activity");
  assert.is(all.filter((r) => r.comments === 0).length, 1, "the README: one user never commented");

  const recent = await runReport(service.url, {
    report_name: "users-by-comment-activity",
    comment_date: { $gte: "2015" },
    comments: { $gte: 1 },
    top: 10,
  });
  assertRows(
    recent,
    usersActivity((c) => c.date >= year(2015))
      .filter((r) => r.comments >= 1)
      .slice(0, 10),
    "recent activity",
  );
});

function perState(keep: (t: Document) => boolean) {
  const byState = new Map<string, { theaters: number; cities: Set<string> }>();
  for (const t of theaters.filter(keep)) {
    const { state, city } = t.location.address;
    const e = byState.get(state) ?? { theaters: 0, cities: new Set<string>() };
    e.theaters++;
    e.cities.add(city);
    byState.set(state, e);
  }
  return [...byState]
    .map(([state, e]) => ({ state, theaters: e.theaters, cities: e.cities.size }))
    .sort((a, b) => b.theaters - a.theaters || byString(a.state, b.state));
}

test("theaters-per-state (data-defined seed): all states, then an exclude list, a range and top", async () => {
  const all = await runReport(service.url, { report_name: "theaters-per-state" }, { alias: "theaters" });
  assertRows(
    all,
    perState(() => true),
    "theaters-per-state",
  );
  assert.is(
    all.reduce((n, r) => n + r.theaters, 0),
    1564,
  );

  const some = await runReport(service.url, {
    report_name: "theaters-per-state",
    states: { exclude: ["CA"] },
    theaters: { $gte: 20 },
    top: 5,
  });
  assertRows(
    some,
    perState((t) => t.location.address.state !== "CA")
      .filter((r) => r.theaters >= 20)
      .slice(0, 5),
    "filtered",
  );
});

function perCity(keep: (t: Document) => boolean) {
  const byCity = new Map<string, { city: string; state: string; theaters: number }>();
  for (const t of theaters.filter(keep)) {
    const { state, city } = t.location.address;
    const key = `${state}\u0000${city}`;
    const e = byCity.get(key) ?? { city, state, theaters: 0 };
    e.theaters++;
    byCity.set(key, e);
  }
  return [...byCity.values()].sort((a, b) => b.theaters - a.theaters || byString(a.state, b.state) || byString(a.city, b.city));
}

test("theaters-per-city (data-defined seed): default top 100, include lists, a range", async () => {
  const top = await runReport(service.url, { report_name: "theaters-per-city" });
  assertRows(top, perCity(() => true).slice(0, 100), "default top");

  const texas = await runReport(service.url, { report_name: "theaters-per-city", states: { include: ["TX"] }, theaters: { $gt: 2 } });
  assertRows(
    texas,
    perCity((t) => t.location.address.state === "TX").filter((r) => r.theaters > 2),
    "texas",
  );

  const named = await runReport(service.url, { report_name: "theaters-per-city", cities: { include: ["Houston", "Austin", "Portland"] } });
  assertRows(
    named,
    perCity((t) => ["Houston", "Austin", "Portland"].includes(t.location.address.city)),
    "named cities",
  );
  assert.ok(named.some((r) => r.city === "Portland" && r.state === "OR") && named.some((r) => r.city === "Portland" && r.state === "ME"));
});

test("a data-defined report validates its parameters like a code report", async () => {
  const response = await post(`${service.url}/v1/reports`, {
    report_name: "theaters-per-city",
    top: 0,
    states: { include: "TX" },
    colour: "red",
  });
  assert.is(response.status, 400);
  const fields = response.body.errors.map((e: { field: string }) => e.field).sort();
  assert.ok(
    fields.includes("top") && fields.includes("colour") && fields.some((f: string) => f.startsWith("states")),
    JSON.stringify(response.body),
  );
});

test("an alias on the wrong collection is a 404 problem listing that collection's reports", async () => {
  const response = await post(`${service.url}/v1/users/theaters-per-state`, {});
  assert.is(response.status, 404);
  assert.ok(response.headers.get("content-type")?.startsWith("application/problem+json"));
  assert.equal(response.body.available, ["users-by-comment-activity"]);
});

test.run();
