/**
 * The `mongo-reports` command (package.json bin) run as a process against the real service:
 * what it prints when piped, the files it writes, and its exit codes.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { Writable } from "node:stream";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { main } from "../../src/cli/cli.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix } from "../support/mflix.ts";
import { insertHeldRequest } from "../support/reports.ts";

const test = suite("command line");
const CLI = path.join(REPO_ROOT, "dist", "src", "cli", "main.js");
let mongo: TestMongo;
let service: TestService;
let dir: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with its output piped (so: no progress line, json by default). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, MONGO_REPORTS_URL: service.url, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Parses CSV written by the service's rules (quoted fields only where needed). */
function csvRecords(text: string): string[][] {
  return text
    .trimEnd()
    .split("\r\n")
    .map((line) => line.split(","));
}

/** A local URL nothing listens on (a port just bound and released). */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

test.before(async () => {
  mongo = await startTestMongo("cli");
  service = await startTestService(mongo);
  await loadMflix(service.context.database.db, ["movies"]);
  dir = mkdtempSync(path.join(os.tmpdir(), "mongo-reports-cli-"));
});

test.after(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  await service?.close();
  await mongo?.stop();
});

test("reports lists what can be run", async () => {
  const ran = await cli(["reports", "--format", "json"]);
  assert.is(ran.code, 0, ran.stderr);
  const reports = JSON.parse(ran.stdout) as { name: string }[];
  assert.ok(
    reports.some((r) => r.name === "top-movies-per-rating"),
    ran.stdout,
  );
  const table = await cli(["reports", "--format", "table"]);
  assert.match(table.stdout.split("\n")[0], /^name\s+collection\s+description$/);
});

test("run --wait prints every row as CSV, JSON or a table; --param values are JSON when they parse", async () => {
  const csv = await cli(["run", "top-movies-per-rating", "--param", "top=12", "--param", "rating.$gte=7", "--wait", "--format", "csv"]);
  assert.is(csv.code, 0, csv.stderr);
  const records = csvRecords(csv.stdout);
  assert.is(records[0][0], "movie_id");
  assert.is(records.length, 13, "header and 12 rows (more than one page of the client's reads is not needed here)");
  assert.is(csv.stderr, "", "nothing on standard error when it is not a terminal");

  const json = await cli(["run", "top-movies-per-rating", "--param", "top=3", "--wait", "--format", "json"]);
  assert.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as { rating: number }[];
  assert.is(rows.length, 3);
  assert.ok(rows[0].rating >= rows[1].rating);

  const table = await cli(["run", "top-movies-per-rating", "--param", "top=2", "--wait", "--format", "table"]);
  const lines = table.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^movie_id\s+title\s+/);
  assert.match(lines[1], /^-+\s+-+/);
  assert.is(lines.length, 4);
});

test("run --body file.json with --out; run without --wait prints the id for scripts", async () => {
  const body = path.join(dir, "body.json");
  writeFileSync(body, JSON.stringify({ top: 4, rating: { $gte: 8 } }));
  const out = path.join(dir, "rows.json");
  const ran = await cli(["run", "top-movies-per-rating", "--body", body, "--param", "top=5", "--wait", "--format", "json", "--out", out]);
  assert.is(ran.code, 0, ran.stderr);
  assert.is(ran.stdout, "");
  const rows = JSON.parse(readFileSync(out, "utf8")) as { rating: number }[];
  assert.is(rows.length, 5, "--param wins over the body");
  assert.ok(rows.every((row) => row.rating >= 8));

  const submitted = await cli(["run", "top-movies-per-rating", "--param", "top=1", "--format", "csv"]);
  assert.is(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  assert.match(id, /^[0-9a-f]{24}$/);
  const status = await cli(["status", id, "--wait", "--format", "json"]);
  assert.is(status.code, 0, status.stderr);
  assert.is(JSON.parse(status.stdout).status, "completed");
});

test("run --output csv --wait --out downloads the CSV file", async () => {
  const out = path.join(dir, "top.csv");
  const ran = await cli(["run", "top-movies-per-rating", "--param", "top=6", "--output", "csv", "--wait", "--out", out]);
  assert.is(ran.code, 0, ran.stderr);
  const records = csvRecords(readFileSync(out, "utf8"));
  assert.is(records.length, 7);
  assert.is(records[0][0], "movie_id");
});

test("exit codes: 1 when the service refuses or the report ends error or cancelled, 2 for a bad command line", async () => {
  const unknown = await cli(["run", "no-such-report", "--wait"]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /404/);

  const invalid = await cli(["run", "top-movies-per-rating", "--param", "top=-1"]);
  assert.is(invalid.code, 1);
  assert.match(invalid.stderr, /top/, "the field at fault is named");

  // A Mongo-native insert with bad parameters: the worker ends it in error.
  const { insertedId: bad } = await service.context.database.requests.insertOne({
    report_name: "top-movies-per-rating",
    params: { top: "many" },
    status: "pending",
  } as any);
  const errored = await cli(["status", String(bad), "--wait"]);
  assert.is(errored.code, 1, errored.stdout);
  assert.match(errored.stderr, /ended error/);

  const later = await insertHeldRequest(service.context.database.requests);
  const cancelled = await cli(["cancel", later, "--format", "json"]);
  assert.is(cancelled.code, 0, cancelled.stderr);
  assert.is(JSON.parse(cancelled.stdout).status, "cancelled");
  const waited = await cli(["status", later, "--wait"]);
  assert.is(waited.code, 1);
  assert.match(waited.stderr, /ended cancelled/);

  assert.is((await cli(["frobnicate"])).code, 2);
  assert.is((await cli(["status"])).code, 2);
  assert.is((await cli(["run", "x", "--format", "xml"])).code, 2);
  const unreachable = await cli(["reports"], { MONGO_REPORTS_URL: await closedPortUrl() });
  assert.is(unreachable.code, 1);
  assert.match(unreachable.stderr, /not reachable/);
});

test("on a terminal: a progress line on standard error, rewritten in place, and a table by default", async () => {
  const collect = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    return Object.assign(stream, { isTTY: true, text: () => chunks.join("") });
  };
  const stdout = collect();
  const stderr = collect();
  const code = await main(["run", "top-movies-per-rating", "--param", "top=2", "--wait"], {
    stdout,
    stderr,
    env: { MONGO_REPORTS_URL: service.url },
  });
  assert.is(code, 0, stderr.text());
  assert.match(stderr.text(), /\r\x1b\[K[0-9a-f]{24} (running|completed)/, JSON.stringify(stderr.text()));
  assert.ok(stderr.text().endsWith("\r\x1b[K"), "the line is cleared before the rows print");
  const lines = stdout.text().trimEnd().split("\n");
  assert.match(lines[0], /^movie_id\s+title/);
  assert.is(lines.length, 4);
});

test("history lists past requests; --url and --api-key override the environment", async () => {
  const ran = await cli(["history", "--url", service.url, "--report", "top-movies-per-rating", "--limit", "50", "--format", "json"], {
    MONGO_REPORTS_URL: await closedPortUrl(),
  });
  assert.is(ran.code, 0, ran.stderr);
  const items = JSON.parse(ran.stdout) as { report_name: string; status: string }[];
  assert.ok(items.length >= 5);
  assert.ok(items.every((item) => item.report_name === "top-movies-per-rating"));
});

test.run();
