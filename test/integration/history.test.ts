/**
 * GET /v1/reports: the history of requests, newest first, filtered by report and status, paged
 * with a cursor, and scoped to the caller's API key.
 */
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, post, request } from "../support/http.ts";

const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const alice = { Authorization: "Bearer alice-secret" };
const bob = { Authorization: "Bearer bob-secret" };

const test = suite("history");
let mongo: TestMongo;
let service: TestService;
/** Alice's request ids in the order she made them. */
const aliceIds: string[] = [];
let bobId: string;

test.before(async () => {
  mongo = await startTestMongo("history");
  const apiKeys = parseApiKeys(`alice:${sha256("alice-secret")},bob:${sha256("bob-secret")}`);
  // No worker: requests stay pending unless cancelled, so every status below is the test's doing.
  service = await startTestService(mongo, { worker: false, config: { apiKeys } });
  for (let i = 0; i < 7; i++) {
    const name = i % 2 === 0 ? "top-movies-per-rating" : "genres-by-rating";
    const submitted = await post(`${service.url}/v1/reports`, { report_name: name, top: i + 1 }, alice);
    assert.is(submitted.status, 202);
    aliceIds.push(submitted.body.id);
  }
  bobId = (await post(`${service.url}/v1/reports`, { report_name: "top-movies-per-rating", top: 1 }, bob)).body.id;
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

async function walk(query: string, headers: Record<string, string>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let next: string | undefined = `/v1/reports?${query}`;
  while (next) {
    const page: { status: number; body: any } = await get(`${service.url}${next}`, headers);
    assert.is(page.status, 200, JSON.stringify(page.body));
    ids.push(...page.body.items.map((item: { id: string }) => item.id));
    pages++;
    next = page.body.links.next;
    assert.is(page.body.next_after === undefined, next === undefined, "next_after and links.next come together");
  }
  return { ids, pages };
}

test("newest first; the cursor walks every request once, and a new request does not shift later pages", async () => {
  const first = await get(`${service.url}/v1/reports?limit=3`, alice);
  assert.equal(
    first.body.items.map((item: { id: string }) => item.id),
    aliceIds.slice(-3).reverse(),
  );
  assert.is(first.body.items[0].status, "pending");
  assert.is(first.body.items[0].report_name, "top-movies-per-rating");
  assert.equal(first.body.items[0].params, { top: 7 });
  // A request made between two page reads belongs to the newest page, not to the next one.
  const late = await post(`${service.url}/v1/reports`, { report_name: "genres-by-rating", top: 42 }, alice);
  const rest = await walk(`limit=3&after=${first.body.next_after}`, alice);
  assert.equal(rest.ids, aliceIds.slice(0, 4).reverse());
  assert.is(rest.pages, 2);
  const all = await walk("limit=3", alice);
  assert.equal(all.ids, [late.body.id, ...aliceIds.slice().reverse()]);
  aliceIds.push(late.body.id);
});

test("filters by report and by status", async () => {
  const cancelled = await request(`${service.url}/v1/reports/${aliceIds[2]}/cancel`, { method: "POST", headers: alice });
  assert.is(cancelled.body.status, "cancelled");
  const genres = await walk("report_name=genres-by-rating&limit=2", alice);
  assert.equal(genres.ids, [aliceIds[7], aliceIds[5], aliceIds[3], aliceIds[1]]);
  const onlyCancelled = await get(`${service.url}/v1/reports?status=cancelled`, alice);
  assert.equal(
    onlyCancelled.body.items.map((item: { id: string; status: string }) => [item.id, item.status]),
    [[aliceIds[2], "cancelled"]],
  );
  const both = await get(`${service.url}/v1/reports?status=pending&report_name=top-movies-per-rating`, alice);
  assert.equal(
    both.body.items.map((item: { id: string }) => item.id),
    [aliceIds[6], aliceIds[4], aliceIds[0]],
  );
  assert.is(both.body.next_after, undefined);
});

test("with API keys on, each key sees only its own requests; without a key: 401", async () => {
  const bobs = await walk("", bob);
  assert.equal(bobs.ids, [bobId]);
  const alices = await walk("limit=100", alice);
  assert.not.ok(alices.ids.includes(bobId));
  assert.is((await get(`${service.url}/v1/reports`)).status, 401);
});

test("a bad query parameter is a 400 problem naming the field", async () => {
  for (const [query, field] of [
    ["status=done", "status"],
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=ten", "limit"],
    ["after=123", "after"],
    ["status=pending&status=error", "status"],
  ]) {
    const response = await get(`${service.url}/v1/reports?${query}`, alice);
    assert.is(response.status, 400, query);
    assert.is(response.headers.get("content-type"), "application/problem+json");
    assert.is(response.body.errors[0].field, field, query);
  }
});

test("a name alias filters as its report; a name that is no report and finds nothing says which report was likely meant", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-directors-per-moving-rating", top: 3 }, alice);
  assert.is(submitted.status, 202, JSON.stringify(submitted.body));
  const byAlias = await get(`${service.url}/v1/reports?report_name=top-directors-per-moving-rating`, alice);
  assert.is(byAlias.status, 200);
  assert.equal(
    byAlias.body.items.map((item: any) => [item.id, item.report_name]),
    [[submitted.body.id, "top-directors-per-movie-rating"]],
  );
  const typo = await get(`${service.url}/v1/reports?report_name=top-movie-per-rating`, alice);
  assert.is(typo.status, 200, "a filter that matches nothing is an empty page");
  assert.equal(typo.body.items, []);
  assert.match(typo.body.notice, /did you mean "top-movies-per-rating"\?/);
  const found = await get(`${service.url}/v1/reports?report_name=top-movies-per-rating&limit=1`, alice);
  assert.is(found.body.notice, undefined, "no notice on a page that found requests");
});

test("with API keys on, the document names its security schemes and each operation's requirement", async () => {
  const doc = (await get(`${service.url}/openapi.json`)).body;
  assert.ok(doc.components.securitySchemes.bearer);
  assert.equal(doc.paths["/v1/reports"].get.security, [{ bearer: ["read"] }, { apiKey: ["read"] }]);
  assert.equal(doc.paths["/v1/report-definitions"].get.security, [], "a public route needs no key");
});

test.run();
