/**
 * A suite that fails (set-up, a server start timing out, tear-down) stops everything it started,
 * and its process ends by itself: nothing keeps `npm test` alive after the summary. Each case runs
 * test/fixtures/suite-cleanup/suite-that-fails.ts as a process of its own.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { MongoClient } from "mongodb";
import * as assert from "uvu/assert";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { suite } from "../support/suite.ts";

const test = suite("suite cleanup");
const FIXTURE = path.join(REPO_ROOT, "dist", "test", "fixtures", "suite-cleanup", "suite-that-fails.js");
/** Only a hang reaches it: the fixture's servers start in seconds on a quiet machine. */
const HANG_LIMIT_MS = 600_000;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runFixture(env: Record<string, string>, args = [FIXTURE]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      // The fixture's own (deliberate) failures are not this run's: it records none in the runner's results file.
      env: { ...process.env, TEST_RESULTS_FILE: undefined, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const hang = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the fixture did not exit within ${HANG_LIMIT_MS / 1000} s (something kept it alive)\n${stderr}`));
    }, HANG_LIMIT_MS);
    child.once("exit", (code, signal) => {
      clearTimeout(hang);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function startedServers(run: Run): { mongo: string; gcs: string } {
  // uvu writes the suite's name on the same line, before it.
  const line = /\{"mongo":[^}]*\}/.exec(run.stdout)?.[0];
  assert.ok(line, `the fixture started its servers; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return JSON.parse(line) as { mongo: string; gcs: string };
}

async function assertMongoGone(uri: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
  try {
    await client.db("admin").command({ ping: 1 });
    assert.unreachable(`the MongoDB at ${uri} still answers`);
  } catch (error) {
    assert.match(String(error), /ECONNREFUSED|Server selection timed out/, "connection refused: the server is stopped");
  } finally {
    await client.close();
  }
}

async function assertGcsGone(url: string): Promise<void> {
  const answered = await fetch(`${url}/storage/v1/b`).then(
    () => true,
    () => false,
  );
  assert.not.ok(answered, `fake-gcs-server at ${url} still answers`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a failed set-up stops the servers it started, the suite fails, and the process exits", async () => {
  const run = await runFixture({ SUITE_FAILURE: "set-up" });
  const servers = startedServers(run);
  assert.is(run.code, 1, "the run fails");
  assert.match(run.stderr, /set-up of suite "fails at set-up" failed/);
  assert.match(run.stderr, /its set-up failed; stopped fake-gcs-server http:\/\/127\.0\.0\.1:\d+, test MongoDB mongodb:\/\//);
  await assertMongoGone(servers.mongo);
  await assertGcsGone(servers.gcs);
});

test("a tear-down that throws before stopping anything: the servers are stopped all the same", async () => {
  const run = await runFixture({ SUITE_FAILURE: "tear-down" });
  const servers = startedServers(run);
  assert.is(run.code, 1, "the run fails");
  assert.match(run.stderr, /tear-down of suite "fails at tear-down" failed/);
  await assertMongoGone(servers.mongo);
  await assertGcsGone(servers.gcs);
});

test("a MongoDB start that times out stops the JVM it started and says what it waited for", async () => {
  const run = await runFixture({ SUITE_FAILURE: "start-timeout", EMBEDDED_MONGO_START_TIMEOUT_S: "0.001" });
  assert.is(run.code, 1, "the run fails");
  const found =
    /embedded MongoDB \(pid (\d+)\) did not print its "listening" line within 0\.001 s \(EMBEDDED_MONGO_START_TIMEOUT_S sets the limit\); stopped it/.exec(
      run.stderr,
    );
  assert.ok(found, `the time-out names what it waited for:\n${run.stderr}`);
  assert.not.ok(isRunning(Number(found[1])), `the JVM (pid ${found[1]}) is gone`);
});

test("the runner stops a test process that lingers after its summary, and counts its tests", async () => {
  const runner = path.join(REPO_ROOT, "dist", "test", "support", "run-tests.js");
  const run = await runFixture({ TEST_EXIT_GRACE_S: "2" }, [runner, "fixtures/suite-cleanup", "^lingers\\.js$"]);
  assert.match(run.stderr, /the tests finished, but their process did not exit within 2 s: a file left a handle open; stopping/);
  assert.match(run.stdout, /^1 passed, 0 failed$/m);
  assert.is(run.code, 0, "the tests passed");
});

test.run();
