/**
 * The API's pure parts: route matching (a concrete segment beats a parameter, 405 with the Allow
 * list), API_KEYS entries with scopes, the problem-type table and its schemas.
 */
import * as assert from "uvu/assert";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { PROBLEM_BASE, PROBLEMS, problemTypeSchema, type ProblemType } from "../../src/api/problems.ts";
import { route, type HttpMethod, type RouteDeclaration } from "../../src/api/route.ts";
import { implicitProblems, routeTable } from "../../src/api/router.ts";
import { suite } from "../support/suite.ts";

const test = suite("api routing, keys and problems");

const declare = (method: HttpMethod, path: string, extra: Partial<RouteDeclaration> = {}): RouteDeclaration =>
  route({
    method,
    path,
    operationId: `${method} ${path}`,
    summary: "",
    tags: [],
    access: "read",
    responses: {},
    handler: () => {},
    ...extra,
  });

const routes = [
  declare("GET", "/v1/reports"),
  declare("POST", "/v1/reports"),
  declare("GET", "/v1/reports/:id"),
  declare("DELETE", "/v1/reports/:id"),
  declare("POST", "/v1/reports/:id/cancel"),
  declare("POST", "/v1/:collection/:report_name"),
];
const match = routeTable(routes);

test("a concrete segment wins over a parameter at the same position", () => {
  const found = match("GET", "/v1/reports/abc");
  assert.is(found.kind, "route");
  if (found.kind === "route") {
    assert.is(found.route.path, "/v1/reports/:id");
    assert.equal(found.params, { id: "abc" });
  }
  // POST exists on /v1/:collection/:report_name, but /v1/reports/:id is the more specific path.
  assert.equal(match("POST", "/v1/reports/abc"), { kind: "method-not-allowed", allow: "DELETE, GET, HEAD, OPTIONS" });
  const alias = match("POST", "/v1/movies/top-movies");
  assert.ok(alias.kind === "route" && alias.route.path === "/v1/:collection/:report_name");
  assert.ok(alias.kind === "route" && alias.params.report_name === "top-movies");
});

test("HEAD is GET; a method the path lacks lists the others, sorted; unknown paths match nothing", () => {
  assert.is(match("HEAD", "/v1/reports").kind, "route");
  assert.equal(match("PATCH", "/v1/reports"), { kind: "method-not-allowed", allow: "GET, HEAD, OPTIONS, POST" });
  assert.equal(match("TRACE", "/v1/reports/abc/cancel"), { kind: "method-not-allowed", allow: "OPTIONS, POST" });
  assert.equal(match("GET", "/v2/reports"), { kind: "none" });
  assert.equal(match("GET", "/v1/reports/a/b/c"), { kind: "none" });
});

test("parameters are URL-decoded; a malformed escape is passed on as written", () => {
  const found = match("POST", "/v1/movies/a%20b");
  assert.ok(found.kind === "route" && found.params.report_name === "a b");
  const malformed = match("GET", "/v1/reports/%E0%A4%A");
  assert.ok(malformed.kind === "route" && malformed.params.id === "%E0%A4%A");
});

test("a route declared twice is refused at start", () => {
  assert.throws(() => routeTable([declare("GET", "/x"), declare("GET", "/x")]), /declared twice/);
});

test("API_KEYS: scopes after the hash; none means read+submit; bad entries name themselves", () => {
  const hash = "a".repeat(64);
  const keys = parseApiKeys(`alice:${hash}, ops:${hash}:admin ,reader:${hash}:read+read`);
  assert.equal(keys.get("alice"), { hash, scopes: ["read", "submit"] });
  assert.equal(keys.get("ops"), { hash, scopes: ["admin"] });
  assert.equal(keys.get("reader"), { hash, scopes: ["read"] });
  assert.is(parseApiKeys(undefined).size, 0);
  assert.throws(() => parseApiKeys(`alice:${hash}:write`), /alice: unknown scope "write"/);
  assert.throws(() => parseApiKeys(`alice:${hash}:read+`), /unknown scope/);
  assert.throws(() => parseApiKeys("alice:secret"), /invalid API_KEYS entry "alice:…"/);
  assert.throws(() => parseApiKeys(`alice:${hash},alice:${hash}`), /twice/);
});

test("problem types: unique slugs and statuses in range; each schema pins its type, title and status", () => {
  const slugs = Object.values(PROBLEMS).map((p) => p.slug);
  assert.is(new Set(slugs).size, slugs.length);
  for (const problem of Object.values(PROBLEMS) as ProblemType[]) {
    assert.ok(problem.status >= 400 && problem.status < 600, problem.slug);
    const schema = problemTypeSchema(problem) as { properties: Record<string, unknown>; required: string[] };
    assert.equal(schema.properties.type, { const: PROBLEM_BASE + problem.slug });
    assert.equal(schema.properties.status, { const: problem.status });
    for (const name of problem.required ?? []) assert.ok(problem.extensions?.[name], `${problem.slug}.${name} has a schema`);
  }
});

test("the router documents what it answers for a route: keys unless public, limits (public routes have their own), body errors with a body", () => {
  const slugs = (r: RouteDeclaration) => implicitProblems(r).map((p) => p.slug);
  assert.equal(slugs(declare("GET", "/healthz", { access: "public" })), ["rate-limited", "internal", "unavailable"]);
  const withBody = slugs(declare("POST", "/x", { requestBody: { required: true, content: {} } }));
  for (const slug of ["unauthorized", "forbidden", "rate-limited", "bad-request", "payload-too-large", "unsupported-media-type"]) {
    assert.ok(withBody.includes(slug), slug);
  }
});

test.run();
