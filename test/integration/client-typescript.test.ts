/**
 * The TypeScript client (clients/typescript, package @mongo-reports/client) as its users get it:
 * types generated again from the running service's /openapi.json, the package built and packed
 * (`npm pack`), the packed files loaded, and one report submitted, waited for, read and
 * downloaded through it against the real service. Also: every operation of the document has a
 * method in the client.
 */
import { randomBytes } from "node:crypto";
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { CLIENT_DIR, CLIENT_TYPES_FILE, clientTypesFrom } from "../../scripts/lib/client-types.ts";
import { CACHE_DIR, REPO_ROOT } from "../../scripts/lib/paths.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";
import { insertHeldRequest } from "../support/reports.ts";

const run = promisify(execFile);
const test = suite("TypeScript client");
let mongo: TestMongo;
let service: TestService;
let document: any;
/** The packed package's module, as a consumer imports it. */
let pkg: typeof import("@mongo-reports/client");
let work: string;
let packedFiles: string[];

test.before(async () => {
  mongo = await startTestMongo("client_typescript");
  // With a webhook secret, as the generator runs (scripts/generate-client-types.ts): the document then offers callback_url.
  service = await startTestService(mongo, { config: { rowsPerChunk: 7, webhookSecret: randomBytes(32) } });
  await loadMflix(service.context.database.db, ["movies"]);
  document = (await get(`${service.url}/openapi.json`)).body;

  // Inside the repository (under .cache), so the package's dependencies resolve from its node_modules.
  work = path.join(CACHE_DIR, "test-clients", `typescript-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const staged = path.join(work, "package");
  mkdirSync(staged, { recursive: true });
  for (const entry of ["package.json", "tsconfig.json", "README.md", "src"])
    cpSync(path.join(CLIENT_DIR, entry), path.join(staged, entry), { recursive: true });
  // The types of the document the service serves now, whatever the committed copy says.
  writeFileSync(path.join(staged, "src", "openapi.ts"), await clientTypesFrom(`${service.url}/openapi.json`));
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [tsc, "-p", path.join(staged, "tsconfig.json")], { cwd: staged }).catch((error) => {
    throw new Error(`the client does not compile against the running document:\n${error.stdout}${error.stderr}`);
  });
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: staged });
  const [{ filename, files }] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = files.map((f) => f.path);
  const installed = path.join(work, "consumer", "node_modules", "@mongo-reports", "client");
  mkdirSync(installed, { recursive: true });
  await run("tar", ["-xzf", path.join(work, filename), "-C", installed, "--strip-components=1"]);
  pkg = await import(pathToFileURL(path.join(installed, "dist", "index.js")).href);
});

test.after(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await service?.close();
  await mongo?.stop();
});

test("the committed types are the ones the running document generates (npm run generate:client)", async () => {
  const fresh = await clientTypesFrom(`${service.url}/openapi.json`);
  const committed = readFileSync(CLIENT_TYPES_FILE, "utf8");
  assert.ok(
    fresh === committed,
    `${path.relative(REPO_ROOT, CLIENT_TYPES_FILE)} is stale: run npm run generate:client (the console and the command line use it)`,
  );
});

test("the packed package holds the built module, its types and the README, not the sources", () => {
  for (const file of ["package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/openapi.d.ts", "dist/sse.js"]) {
    assert.ok(packedFiles.includes(file), `${file} is packed (${packedFiles.join(", ")})`);
  }
  assert.not.ok(
    packedFiles.some((file) => file.startsWith("src/")),
    "no sources in the package",
  );
});

test("every operation in /openapi.json has a method in the client", () => {
  const client = pkg.createClient({ baseUrl: service.url });
  const request = client.request("0".repeat(24));
  const missing: string[] = [];
  for (const [route, operations] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(operations)) {
      const id = operation.operationId as string;
      if (pkg.NOT_FOR_CLIENTS[id]) continue;
      const served = pkg.methodFor(id);
      const [owner, name] = served?.split(".") ?? [];
      const target = (owner === "request" ? request : client) as unknown as Record<string, unknown>;
      if (!served || typeof target[name] !== "function") missing.push(`${method.toUpperCase()} ${route} (${id}) → ${served ?? "nothing"}`);
    }
  }
  assert.equal(missing, [], `operations without a client method:\n${missing.join("\n")}`);
});

test("submit, wait on the event stream, read every row page by page, download the CSV", async () => {
  const sent: string[] = [];
  const recording: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    sent.push(`${request.method} ${new URL(request.url).pathname}${request.headers.get("prefer") ? " (long poll)" : ""}`);
    return fetch(request);
  };
  const client = pkg.createClient({ baseUrl: service.url, fetch: recording });
  const events: string[] = [];
  const request = await client.submit("top-movies-per-rating", { rating: { $gte: 7.5 } }, { output: "both" });
  assert.is(request.last?.status, "pending");
  const final = await request.wait({ timeoutMs: 60_000, onEvent: (e) => events.push(e.kind === "status" ? e.status.status : "progress") });
  assert.is(final.status, "completed", JSON.stringify(final.error));
  assert.is(events.at(-1), "completed", `events seen: ${events.join(", ")}`);
  assert.ok(
    sent.some((line) => line.endsWith("/events")),
    sent.join("\n"),
  );
  assert.not.ok(
    sent.some((line) => line.endsWith("(long poll)")),
    `waited on the stream alone:\n${sent.join("\n")}`,
  );

  const rows: Record<string, unknown>[] = [];
  for await (const row of request.rows({ pageSize: 10 })) rows.push(row);
  const expected = await service.context.database.db.collection("movies").countDocuments({ "imdb.rating": { $gte: 7.5 } });
  assert.ok(expected > 10, "more than one page");
  assert.is(rows.length, expected);
  assert.is(new Set(rows.map((r) => r.movie_id)).size, expected, "no row repeated");

  const file = path.join(work, "top.csv");
  const bytes = await request.download(file);
  const lines = readFileSync(file, "utf8").trimEnd().split("\r\n");
  assert.is(bytes, Buffer.byteLength(readFileSync(file)));
  // The final status event carries no rows or columns; a status read does.
  assert.is(lines[0], (await request.status()).columns!.join(","));
  assert.is(lines.length, expected + 1);
});

test("rows() of a request that wrote files only says to download them", async () => {
  const client = pkg.createClient({ baseUrl: service.url });
  const request = await client.submit("top-movies-per-rating", { top: 2 }, { output: "csv" });
  const failed = await (async () => {
    for await (const _ of request.rows()) return "a row";
  })().catch((error: unknown) => error);
  assert.match(String(failed), /download/);
});

test("submit with a wait: a small report comes back finished from the one POST, and wait() asks for nothing more", async () => {
  const sent: string[] = [];
  const recording: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    sent.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.get("prefer")}`);
    return fetch(request);
  };
  const client = pkg.createClient({ baseUrl: service.url, fetch: recording });
  const request = await client.submit("top-movies-per-rating", { top: 4 }, { wait: 25 });
  assert.is(request.last?.status, "completed", JSON.stringify(request.last));
  assert.is((await request.wait({ timeoutMs: 60_000 })).status, "completed");
  assert.equal(sent, ["POST /v1/reports wait=25"]);
});

test("wait falls back to long polls when the event stream is not available", async () => {
  const withoutStream: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    // What a proxy that does not pass text/event-stream through answers.
    if (url.endsWith("/events")) return new Response("no streaming here", { status: 502 });
    return fetch(input, init);
  };
  const client = pkg.createClient({ baseUrl: service.url, fetch: withoutStream });
  const request = await client.submit("top-movies-per-rating", { top: 3 });
  const final = await request.wait({ timeoutMs: 60_000 });
  assert.is(final.status, "completed", JSON.stringify(final.error));
  const rows: unknown[] = [];
  for await (const row of request.rows()) rows.push(row);
  assert.is(rows.length, 3);
});

test("a long poll answered without waiting (past the service's cap: no Preference-Applied) is followed by the pause Retry-After asks for", async () => {
  let polls = 0;
  const overTheCap: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.url.endsWith("/events")) return new Response("no streaming here", { status: 502 });
    if (!request.headers.has("prefer")) return fetch(request);
    polls++;
    // What a key holding MAX_LONG_POLLS_PER_KEY waiting reads gets: the read at once, no Preference-Applied.
    const headers = new Headers(request.headers);
    headers.delete("prefer");
    const answer = await fetch(new Request(request, { headers }));
    assert.is(answer.headers.get("preference-applied"), null);
    const paced = new Headers(answer.headers);
    paced.set("Retry-After", "30");
    return new Response(answer.body, { status: answer.status, headers: paced });
  };
  const client = pkg.createClient({ baseUrl: service.url, fetch: overTheCap });
  const held = client.request(await insertHeldRequest(service.context.database.requests));
  const outcome = await held.wait({ timeoutMs: 5_000 }).catch((error: unknown) => error);
  assert.instance(outcome, pkg.WaitTimeoutError);
  assert.is(polls, 1, "one long poll, then the 30 s pause the timeout cut short (not a poll after poll)");
});

test("the same Idempotency-Key returns the same request; errors carry the problem table's types", async () => {
  const client = pkg.createClient({ baseUrl: service.url });
  const key = `client-test-${process.pid}`;
  const first = await client.submit("top-movies-per-rating", { top: 2 }, { idempotencyKey: key });
  const again = await client.submit("top-movies-per-rating", { top: 2 }, { idempotencyKey: key });
  assert.is(again.id, first.id);

  const unknown = await client.submit("no-such-report", {}).catch((error: unknown) => error);
  assert.instance(unknown, pkg.ApiError);
  assert.ok((unknown as InstanceType<typeof pkg.ApiError>).is("unknown-report"), String(unknown));

  const invalid = (await client.submit("top-movies-per-rating", { top: -1 }).catch((e: unknown) => e)) as InstanceType<typeof pkg.ApiError>;
  assert.ok(invalid.is("invalid-parameters"), String(invalid));
  if (invalid.is("invalid-parameters"))
    assert.ok(
      invalid.problem.errors.some((e) => e.field.includes("top")),
      JSON.stringify(invalid.problem),
    );

  const missing = (await client
    .request("0".repeat(24))
    .status()
    .catch((e: unknown) => e)) as InstanceType<typeof pkg.ApiError>;
  assert.is(missing.status, 404);
  assert.ok(missing.is("report-not-found"));
});

test("cancel and remove; reports() and history()", async () => {
  const client = pkg.createClient({ baseUrl: service.url });
  const insertedId = await insertHeldRequest(service.context.database.requests);
  const request = client.request(insertedId);
  assert.is((await request.status()).status, "pending");
  assert.is((await request.cancel()).status, "cancelled");
  const final = await request.wait({ timeoutMs: 10_000 });
  assert.is(final.status, "cancelled");
  const failed = await (async () => {
    for await (const _ of request.rows()) return "a row";
  })().catch((error: unknown) => error);
  assert.instance(failed, pkg.ReportFailedError);
  await request.remove();
  assert.is((await request.status().catch((e: InstanceType<typeof pkg.ApiError>) => e.status)) as unknown, 404);

  const reports = await client.reports();
  assert.ok(reports.some((r) => r.name === "top-movies-per-rating"));
  const history = await client.history({ report_name: "top-movies-per-rating", limit: 100 });
  assert.ok(history.items.length >= 3);
  assert.ok(history.items.every((item) => item.report_name === "top-movies-per-rating"));
  assert.not.ok(
    history.items.some((item) => item.id === insertedId),
    "the removed request is gone",
  );
});

test.run();
