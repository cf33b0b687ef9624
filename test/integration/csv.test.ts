/**
 * CSV output with the local-directory sink (the default without GCS): the real service writes the
 * file, GET /v1/reports/:id/csv streams it, the bytes are exactly the documented format.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ObjectId } from "mongodb";
import { loadConfig } from "../../src/config.ts";
import { renderCell } from "../../src/results/csv.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post, request, submitAndWait as submitAndWaitAt } from "../support/http.ts";
import { AWKWARD_CSV, awkwardReport, loadAwkward } from "../support/csv-fixture.ts";
import { forgedCompletedRequest } from "../support/forged-request.ts";
import { object } from "superstruct";
import { defineReport } from "../../src/reports/define.ts";

const test = suite("csv (local sink)");
let mongo: TestMongo;
let service: TestService;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "csv-test-"));
  mongo = await startTestMongo("csv");
  service = await startTestService(mongo, {
    config: { catalogueReloadMs: 0, reuseWindowMs: 0, csv: { linkExpirySeconds: 3600, localDir: dir, gcs: null } },
  });
  service.context.catalogue.add(awkwardReport);
  await loadAwkward(service.context.database.db);
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const submitAndWait = (body: Record<string, unknown>, waitS?: number) => submitAndWaitAt(service.url, body, waitS);

test("cells follow the documented rules", () => {
  assert.is(renderCell(undefined), "");
  assert.is(renderCell(null), "");
  assert.is(renderCell(0.1 + 0.2), "0.30000000000000004");
  assert.is(renderCell(Number.NaN), "NaN");
  assert.is(renderCell(true), "true");
  assert.is(renderCell(new Date(0)), "1970-01-01T00:00:00.000Z");
  assert.is(renderCell(new ObjectId("5a9427648b0beebeb69579e7")), "5a9427648b0beebeb69579e7");
  assert.is(renderCell(["a", 1, null, { b: new Date(0) }]), '["a",1,null,{"b":"1970-01-01T00:00:00.000Z"}]');
});

test('"output": "csv" writes the file; the status has csv and a download link, no rows', async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: "csv" });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.output, "csv");
  const object = `reports/${done.id}.attempt-1.csv`;
  assert.equal(done.csv, { object, bytes: Buffer.byteLength(AWKWARD_CSV), rows: 6 });
  assert.is(done.gcs_link, undefined, "no GCS, no gcs_link");
  assert.is(done.links.csv, `/v1/reports/${done.id}/csv`);
  assert.is(done.rows, undefined, "a csv-only request has no rows to page");
  assert.is(done.total_rows, 6);
  assert.equal(readFileSync(path.join(dir, object), "utf8"), AWKWARD_CSV);
  assert.equal(readdirSync(path.join(dir, "incomplete")), [], "nothing left under incomplete/");
});

test("GET /v1/reports/:id/csv streams the file byte for byte with Content-Disposition", async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: "csv" });
  const response = await fetch(`${service.url}/v1/reports/${done.id}/csv`);
  assert.is(response.status, 200);
  assert.is(response.headers.get("content-type"), "text/csv; charset=utf-8");
  assert.is(response.headers.get("content-disposition"), `attachment; filename="csv-awkward-${done.id}.csv"`);
  assert.is(response.headers.get("content-length"), String(Buffer.byteLength(AWKWARD_CSV)));
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.ok(bytes.equals(Buffer.from(AWKWARD_CSV, "utf8")), `got ${JSON.stringify(bytes.toString("utf8"))}`);
});

test('"output": "both" gives pages of rows and the CSV', async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: "both" });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.rows.length, 6);
  assert.is(done.rows[1].text, 'comma, "quoted" and\nnewline');
  assert.is(done.csv.rows, 6);
  const response = await fetch(`${service.url}${done.links.csv}`);
  assert.is(await response.text(), AWKWARD_CSV);
});

test("the download route explains what it cannot serve", async () => {
  const json = await submitAndWait({ report_name: "csv-awkward" });
  const noCsv = await get(`${service.url}/v1/reports/${json.id}/csv`);
  assert.is(noCsv.status, 409);
  assert.is(noCsv.headers.get("content-type"), "application/problem+json");
  assert.ok(noCsv.body.type.endsWith("/no-csv"));

  const { insertedId } = await service.context.database.requests.insertOne({
    report_name: "csv-awkward",
    params: {},
    output: "csv",
    status: "pending",
    not_before: new Date(Date.now() + 600_000),
  } as any);
  const pending = await get(`${service.url}/v1/reports/${insertedId}/csv`);
  assert.is(pending.status, 409);
  assert.is(pending.headers.get("retry-after"), "1");
  assert.is(pending.body.status_of_request, "pending");

  assert.is((await get(`${service.url}/v1/reports/${new ObjectId()}/csv`)).status, 404);
  assert.is((await get(`${service.url}/v1/reports/nope/csv`)).status, 400);
});

test("an unknown output is refused with the accepted ones", async () => {
  const response = await post(`${service.url}/v1/reports`, { report_name: "csv-awkward", output: "pdf" });
  assert.is(response.status, 400);
  assert.ok(response.body.detail.includes("json, csv, both, ndjson, xlsx, parquet"), response.body.detail);
});

test("a file removed after completion answers 410", async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: "csv" });
  rmSync(path.join(dir, done.csv.object));
  const response = await request(`${service.url}/v1/reports/${done.id}/csv`);
  assert.is(response.status, 410);
});

test("a document that records another request's file as its CSV: GET /csv never serves it, DELETE never removes it", async () => {
  const victim = await submitAndWait({ report_name: "csv-awkward", output: "csv" });
  const victimFile = path.join(dir, victim.csv.object);
  // As an integration can insert it: already completed, naming the other request's file.
  const { insertedId } = await service.context.database.requests.insertOne(
    forgedCompletedRequest("csv-awkward", {
      row_count: 6,
      columns: ["a"],
      csv: { sink: "local", object: victim.csv.object, bytes: 1, rows: 6 },
    }),
  );
  const download = await fetch(`${service.url}/v1/reports/${insertedId}/csv`);
  const body = await download.text();
  assert.is.not(download.status, 200, "the other request's file is not served");
  assert.not.ok(body.includes(AWKWARD_CSV), "not a byte of it");
  const deleted = await request(`${service.url}/v1/reports/${insertedId}`, { method: "DELETE" });
  assert.ok(deleted.status === 204 || deleted.status === 404, `DELETE: ${deleted.status}`);
  assert.ok(existsSync(victimFile), "the other request's file is still there");
  assert.is((await fetch(`${service.url}/v1/reports/${victim.id}/csv`)).status, 200);
});

test("a sink that cannot write: the attempt fails, is retried, and ends in error with the reason", async () => {
  // A directory path that is a file: every attempt fails to open its output.
  const blocked = path.join(dir, "blocked");
  writeFileSync(blocked, "not a directory");
  const broken = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_broken` },
    {
      config: { catalogueReloadMs: 0, reuseWindowMs: 0, maxAttempts: 2, csv: { linkExpirySeconds: 3600, localDir: blocked, gcs: null } },
    },
  );
  try {
    broken.context.catalogue.add(awkwardReport);
    await loadAwkward(broken.context.database.db);
    const submitted = await post(`${broken.url}/v1/reports`, { report_name: "csv-awkward", output: "csv" });
    const done = await get(`${broken.url}/v1/reports/${submitted.body.id}?wait=20`);
    assert.is(done.body.status, "error");
    assert.is(done.body.attempts, 2, "retried once");
    assert.is(done.body.error.code, "execution");
    assert.ok(done.body.error.message.includes("ExportError"), done.body.error.message);
    assert.ok(done.body.error.message.includes("ENOTDIR"), done.body.error.message);
    assert.not.ok(done.body.error.message.includes(blocked), `no server path: ${done.body.error.message}`);
    // The worker is still up: a json request on the same service completes.
    const next = await post(`${broken.url}/v1/reports`, { report_name: "csv-awkward" });
    const ok = await get(`${broken.url}/v1/reports/${next.body.id}?wait=20`);
    assert.is(ok.body.status, "completed");
  } finally {
    await broken.close();
  }
});

test("retention removes an expired request's CSV file with it", async () => {
  const shortLived = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_retention` },
    {
      config: {
        catalogueReloadMs: 0,
        reuseWindowMs: 0,
        retentionMs: 1500,
        retentionSweepMs: 200,
        csv: { linkExpirySeconds: 3600, localDir: dir, gcs: null },
      },
    },
  );
  try {
    shortLived.context.catalogue.add(awkwardReport);
    await loadAwkward(shortLived.context.database.db);
    const submitted = await post(`${shortLived.url}/v1/reports`, { report_name: "csv-awkward", output: "csv" });
    const done = await get(`${shortLived.url}/v1/reports/${submitted.body.id}?wait=20`);
    assert.is(done.body.status, "completed");
    const file = path.join(dir, done.body.csv.object);
    assert.ok(existsSync(file));
    await eventually(async () => (existsSync(file) ? undefined : true), 15_000, 100);
    // The file goes first, then the rows, then the request (the sweeper's order): give it those round trips.
    const status = () => get(`${shortLived.url}/v1/reports/${submitted.body.id}`).then((r) => r.status);
    assert.is(await eventually(async () => ((await status()) === 404 ? 404 : undefined), 20_000, 50), 404, "the request went too");
  } finally {
    await shortLived.close();
  }
});

// Comments written by anyone: an author name that is a spreadsheet formula, a text that starts with "+".
const HYPERLINK = '=HYPERLINK("http://example.com","x")';
const hostileComments = () => [
  { name: HYPERLINK, email: "mallory@example.com", movie_id: new ObjectId(), text: "harmless", date: new Date("2020-01-01T00:00:00Z") },
  { name: "Plain Person", email: "plain@example.com", movie_id: new ObjectId(), text: "+1 agreed", date: new Date("2020-01-02T00:00:00Z") },
];
/** Comment lines as written, for the comment text (no catalogue report returns it). */
const commentLines = defineReport({
  name: "csv-comment-lines",
  collection: "comments",
  description: "Comment authors and texts, for the formula-guard tests",
  params: object({}),
  pipeline: () => [{ $sort: { date: 1 } }, { $project: { _id: 0, name: 1, text: 1 } }],
  columns: [{ name: "name" }, { name: "text" }],
});

async function csvOf(baseUrl: string, body: Record<string, unknown>): Promise<{ rows: any[]; csv: string }> {
  const done = await submitAndWaitAt(baseUrl, { ...body, output: "both" });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  return { rows: done.rows, csv: await (await fetch(`${baseUrl}${done.links.csv}`)).text() };
}

test("formula guard: text cells that a spreadsheet would run are quoted with ', JSON rows stay exact", async () => {
  await service.context.database.db.collection("comments").insertMany(hostileComments());
  service.context.catalogue.add(commentLines);
  const commenters = await csvOf(service.url, { report_name: "most-active-commenters" });
  assert.equal(
    commenters.rows.map((r) => r.name),
    [HYPERLINK, "Plain Person"],
  );
  assert.is(
    commenters.csv,
    "name,email,comments,movies,first_comment,last_comment\r\n" +
      `"'=HYPERLINK(""http://example.com"",""x"")",mallory@example.com,1,1,2020-01-01T00:00:00.000Z,2020-01-01T00:00:00.000Z\r\n` +
      "Plain Person,plain@example.com,1,1,2020-01-02T00:00:00.000Z,2020-01-02T00:00:00.000Z\r\n",
  );
  const lines = await csvOf(service.url, { report_name: "csv-comment-lines" });
  assert.equal(lines.rows, [
    { name: HYPERLINK, text: "harmless" },
    { name: "Plain Person", text: "+1 agreed" },
  ]);
  assert.is(lines.csv, `name,text\r\n"'=HYPERLINK(""http://example.com"",""x"")",harmless\r\nPlain Person,'+1 agreed\r\n`);
});

test("HIDDEN_FIELDS: a field named password never leaves in rows or files, at any depth, whatever the report", async () => {
  await service.context.database.db.collection("accounts").insertMany([
    {
      _id: 1 as any,
      name: "ann",
      password: "$2b$12$hash-a",
      profile: { password: "nested", city: "Oslo" },
      logins: [{ at: 1, password: "p" }],
    },
  ]);
  service.context.catalogue.add(
    defineReport({
      name: "csv-accounts",
      collection: "accounts",
      description: "Whole account documents, as a careless report would return them",
      params: object({}),
      pipeline: () => [{ $project: { _id: 0 } }],
      columns: [{ name: "name" }, { name: "password" }, { name: "profile" }, { name: "logins" }],
    }),
  );
  const { rows, csv } = await csvOf(service.url, { report_name: "csv-accounts" });
  assert.equal(rows, [{ name: "ann", profile: { city: "Oslo" }, logins: [{ at: 1 }] }]);
  assert.not.ok(/hash-a|nested|"p"/.test(csv), csv);
});

test("CSV_FORMULA_GUARD=false writes text cells as they are", async () => {
  const raw = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_raw` },
    { config: { catalogueReloadMs: 0, reuseWindowMs: 0, csv: { ...loadConfig({ CSV_FORMULA_GUARD: "false" }).csv, localDir: dir } } },
  );
  try {
    await raw.context.database.db.collection("comments").insertMany(hostileComments());
    raw.context.catalogue.add(commentLines);
    const lines = await csvOf(raw.url, { report_name: "csv-comment-lines" });
    assert.is(lines.csv, `name,text\r\n"=HYPERLINK(""http://example.com"",""x"")",harmless\r\nPlain Person,+1 agreed\r\n`);
  } finally {
    await raw.close();
  }
});

test("configuration: LOCAL_CSV_DIR and the default", () => {
  assert.is(loadConfig({ LOCAL_CSV_DIR: "/srv/csv" }).csv.localDir, "/srv/csv");
  assert.is(loadConfig({}).csv.gcs, null);
  assert.ok(path.isAbsolute(loadConfig({}).csv.localDir));
  assert.ok(!existsSync(path.join(dir, "blocked", "reports")));
});

test.run();
