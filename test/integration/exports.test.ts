/**
 * Every export format end to end with the local-directory sink: the real service writes one file
 * per format of a request's output, the status records each file's rows, bytes and SHA-256, and
 * GET /v1/reports/:id/download serves it with Content-Length and Repr-Digest. Each file is read
 * back by an independent reader (JSON.parse, pyarrow, openpyxl) and equals the rows the JSON
 * pages show, every one of them; a result past a format's limit fails with the reason.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { object } from "superstruct";
import { defineReport, type Column } from "../../src/reports/define.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { get, submitAndWait as submitAndWaitAt } from "../support/http.ts";
import { readParquet, readXlsx } from "../support/export-readers.ts";
import { looksLikeFormula } from "../../src/results/formula-guard.ts";

const test = suite("exports (local sink)");
let mongo: TestMongo;
let service: TestService;
let dir: string;

const ROWS = 2_345;
const COLUMNS: Column[] = [
  { name: "n", type: "integer" },
  { name: "name", type: "string" },
  { name: "third", type: "number", precision: 2 },
  { name: "at", type: "date" },
  { name: "flag", type: "boolean" },
  { name: "tags", type: "json" },
];
const NAMES = ["plain", "Zoë — 東京 🎬", "=1+2", "+33 1 23", "-5", "@home", "tab\tinside", "<b>&amp;</b>", ""];

const exportRows = defineReport({
  name: "export-rows",
  collection: "export_rows",
  description: "Generated rows of every column type, in n order",
  params: object({}),
  pipeline: () => [{ $sort: { n: 1 } }, { $project: { _id: 0, n: 1, name: 1, third: 1, at: 1, flag: 1, tags: 1 } }],
  columns: COLUMNS,
});

const tooWide = defineReport({
  name: "export-too-wide",
  collection: "export_wide",
  description: "One cell longer than Excel holds",
  params: object({}),
  pipeline: () => [{ $project: { _id: 0, text: 1 } }],
  columns: [{ name: "text", type: "string" }],
});

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "exports-test-"));
  mongo = await startTestMongo("exports");
  service = await startTestService(mongo, {
    config: { catalogueReloadMs: 0, reuseWindowMs: 0, csv: { linkExpirySeconds: 3600, localDir: dir, gcs: null } },
  });
  service.context.catalogue.add(exportRows);
  service.context.catalogue.add(tooWide);
  const db = service.context.database.db;
  await db.collection("export_rows").insertMany(
    Array.from({ length: ROWS }, (_, n) => ({
      n,
      name: NAMES[n % NAMES.length],
      third: n % 11 === 0 ? null : n / 3,
      at: new Date(Date.UTC(1990, 0, 1) + n * 3_600_123),
      flag: n % 2 === 0,
      tags: n % 3 === 0 ? [] : ["a", `n${n}`],
    })),
  );
  await db.collection("export_wide").insertMany([{ text: "fits" }, { text: "x".repeat(40_000) }]);
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const submitAndWait = (body: Record<string, unknown>) => submitAndWaitAt(service.url, body, 120);

/** Every row of a completed json request, page by page, as the API shows them. */
async function jsonRows(id: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (let page = 0; ; page++) {
    const response = await get(`${service.url}/v1/reports/${id}?page=${page}&page_size=1000`);
    rows.push(...response.body.rows);
    if (!response.body.links.next) return rows;
  }
}

async function download(id: string, format?: string) {
  const response = await fetch(`${service.url}/v1/reports/${id}/download${format ? `?format=${format}` : ""}`);
  const body = Buffer.from(await response.arrayBuffer());
  return { response, body };
}

/** A row with every column present (missing as null), as the files hold it. */
const complete = (row: Record<string, unknown>) => Object.fromEntries(COLUMNS.map(({ name }) => [name, row[name] ?? null]));
/** JSON columns are JSON text in CSV, Excel and Parquet. */
const tagsAsText = (row: Record<string, unknown>) => ({ ...complete(row), tags: JSON.stringify(row.tags) });

test("one request, every format: each file holds every row, equal to the JSON pages, and says so", async () => {
  const done = await submitAndWait({ report_name: "export-rows", output: ["json", "csv", "ndjson", "xlsx", "parquet"] });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  const rows = await jsonRows(done.id);
  assert.is(rows.length, ROWS);
  assert.is(rows[1].third, 0.33, "precision 2: the rows carry the rounded value");
  assert.equal(
    done.files.map((file: { format: string }) => file.format),
    ["csv", "ndjson", "xlsx", "parquet"],
  );
  const bodies: Record<string, Buffer> = {};
  for (const file of done.files) {
    assert.is(file.rows, ROWS, `${file.format}: rows recorded`);
    assert.is(file.download, `/v1/reports/${done.id}/download?format=${file.format}`);
    assert.is(done.links[`download_${file.format}`], file.download);
    const { response, body } = await download(done.id, file.format);
    assert.is(response.status, 200, file.format);
    assert.is(response.headers.get("content-type"), file.content_type);
    assert.is(response.headers.get("content-disposition"), `attachment; filename="export-rows-${done.id}.${file.format}"`);
    assert.is(response.headers.get("content-length"), String(file.bytes), `${file.format}: Content-Length is the recorded size`);
    assert.is(body.length, file.bytes, `${file.format}: every byte arrived`);
    const sha256 = createHash("sha256").update(body).digest();
    assert.is(file.sha256, sha256.toString("hex"), `${file.format}: recorded SHA-256`);
    assert.is(response.headers.get("repr-digest"), `sha-256=:${sha256.toString("base64")}:`);
    bodies[file.format] = body;
  }

  const lines = bodies.ndjson.toString("utf8").split("\n");
  assert.is(lines.pop(), "", "NDJSON ends with a newline");
  assert.equal(
    lines.map((line) => JSON.parse(line)),
    rows.map(complete),
  );

  const csvLines = bodies.csv.toString("utf8").split("\r\n");
  assert.is(csvLines[0], COLUMNS.map((c) => c.name).join(","));
  assert.is(csvLines.length, ROWS + 2, "header, every row, and the final CRLF");

  const parquet = await readParquet(bodies.parquet);
  assert.equal(parquet.schema, { n: "int64", name: "string", third: "double", at: "timestamp[ms, tz=UTC]", flag: "bool", tags: "string" });
  assert.equal(parquet.rows, rows.map(tagsAsText));

  const sheets = await readXlsx(bodies.xlsx);
  assert.is(sheets.length, 1);
  assert.equal(
    sheets[0].header,
    COLUMNS.map((c) => c.name),
  );
  assert.equal(sheets[0].rows, rows.map(tagsAsText));
  const formulaLike = rows.filter((row) => looksLikeFormula(String(row.name))).length;
  assert.is(sheets[0].quote_prefix.length, formulaLike, "every formula-like text is marked quote-prefix");

  assert.equal(readdirSync(path.join(dir, "incomplete")), [], "nothing left under incomplete/");
});

test("messy movies (text years, empty vote counts): Parquet types rating and votes, with nulls, and writes the mixed year as text", async () => {
  const movies = service.context.database.db.collection("movies");
  const released = new Date(Date.UTC(1999, 2, 31));
  await movies.insertMany([
    { title: "Clean", year: 1999, released, imdb: { rating: 8.1, votes: 1000 }, directors: ["A"], genres: ["Drama"] },
    { title: "Stray letter", year: "2005è", imdb: { rating: 7.2, votes: "" } },
    { title: "No vote count", year: 2001, imdb: { rating: 6.5 } },
    { title: "Unrated", year: 2010, imdb: { rating: "", votes: "" } },
  ]);
  const done = await submitAndWait({ report_name: "top-movies-per-rating", output: ["json", "parquet", "xlsx"] });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  const rows = await jsonRows(done.id);
  assert.equal(
    rows.map((row) => [row.title, row.year, row.votes]),
    [
      ["Clean", 1999, 1000],
      ["Stray letter", "2005è", ""],
      ["No vote count", 2001, undefined],
    ],
    "the JSON rows are the documents' values",
  );

  const parquet = await readParquet((await download(done.id, "parquet")).body);
  assert.equal(parquet.schema, {
    movie_id: "string",
    title: "string",
    year: "string",
    released: "timestamp[ms, tz=UTC]",
    rating: "double",
    votes: "int64",
    directors: "string",
    genres: "string",
  });
  assert.equal(
    parquet.rows.map((row) => [row.title, row.year, row.released, row.rating, row.votes]),
    [
      ["Clean", "1999", released.toISOString(), 8.1, 1000],
      ["Stray letter", "2005è", null, 7.2, null],
      ["No vote count", "2001", null, 6.5, null],
    ],
  );

  const [sheet] = await readXlsx((await download(done.id, "xlsx")).body);
  assert.equal(
    sheet.rows.map((row) => row.year),
    [1999, "2005è", 2001],
    "Excel keeps each cell's own type",
  );
});

test("a file-only output stores no rows; download without a format sends the one file; other formats are 409", async () => {
  const done = await submitAndWait({ report_name: "export-rows", output: "parquet" });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.rows, undefined, "no rows to page");
  assert.is(done.total_rows, ROWS);
  assert.equal(
    done.files.map((file: { format: string }) => file.format),
    ["parquet"],
  );
  const { response, body } = await download(done.id);
  assert.is(response.status, 200);
  assert.is(response.headers.get("content-type"), "application/vnd.apache.parquet");
  assert.is((await readParquet(body)).rows.length, ROWS);
  const missing = await get(`${service.url}/v1/reports/${done.id}/download?format=xlsx`);
  assert.is(missing.status, 409, "the request exists; that format is not among its files");
  assert.equal(missing.body.formats, ["parquet"]);
  const invalid = await get(`${service.url}/v1/reports/${done.id}/download?format=pdf`);
  assert.is(invalid.status, 400);
});

test("outputs are checked: unknown parts and repeats are refused with the accepted ones", async () => {
  for (const output of [["json", "pdf"], ["xlsx", "xlsx"], [], "excel"]) {
    const response = await fetch(`${service.url}/v1/reports`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ report_name: "export-rows", output }),
    });
    assert.is(response.status, 400, JSON.stringify(output));
  }
});

test("a result past a format's limit fails with the reason instead of being shortened, and leaves no file", async () => {
  const done = await submitAndWait({ report_name: "export-too-wide", output: ["json", "csv", "xlsx"] });
  assert.is(done.status, "error");
  assert.is(done.error.code, "export_limit");
  assert.match(done.error.message, /row 2, column text: 40000 characters/);
  assert.is(done.attempts, 1, "not retried: it would not fit on another attempt either");
  for (const ext of ["csv", "xlsx"]) assert.not.ok(existsSync(path.join(dir, `reports/${done.id}.attempt-1.${ext}`)), ext);
  assert.equal(readdirSync(path.join(dir, "incomplete")), [], "nothing left under incomplete/");
});

test.run();
