/**
 * The Python client (clients/python, package mongo_reports): installed with pip from its folder
 * into the tests' virtual environment's reach, then its pytest suite run against the real
 * service this file starts (API with workers, sample movies). pytest's output is printed; a
 * failing pytest fails this test.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { CACHE_DIR, REPO_ROOT } from "../../scripts/lib/paths.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix } from "../support/mflix.ts";
import { venvPython } from "../support/tools.ts";

const test = suite("Python client");
const CLIENT = path.join(REPO_ROOT, "clients", "python");
let mongo: TestMongo;
let service: TestService;
let work: string;

/** Runs the venv's Python; resolves with its exit code and everything it printed. */
function python(args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(venvPython(), args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

test.before(async () => {
  mongo = await startTestMongo("client_python");
  service = await startTestService(mongo, { config: { rowsPerChunk: 7 } });
  await loadMflix(service.context.database.db, ["movies"]);
  work = path.join(CACHE_DIR, "test-clients", `python-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
});

test.after(async () => {
  if (work) rmSync(work, { recursive: true, force: true });
  await service?.close();
  await mongo?.stop();
});

test("pip installs the package from clients/python, and its pytest suite passes against the service", async () => {
  // A copy, so that the build's egg-info and build/ folders never land in the repository.
  const source = path.join(work, "source");
  cpSync(CLIENT, source, { recursive: true, filter: (from) => !/(__pycache__|\.egg-info|[/\\]build)$/.test(from) });
  const site = path.join(work, "site");
  const install = await python(
    // The build backend (setuptools) is pinned in test/requirements.txt: no download here.
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-build-isolation", "--target", site, source],
  );
  assert.is(install.code, 0, `pip install ./clients/python failed:\n${install.output}`);

  const pytest = await python(["-m", "pytest", path.join(CLIENT, "tests"), "-q", "-p", "no:cacheprovider", "--color=no"], {
    PYTHONPATH: site, // the installed package, never the sources beside the tests
    MONGO_REPORTS_URL: service.url,
    MONGODB_URI: mongo.uri,
    MONGODB_DB: mongo.dbName,
  });
  process.stdout.write(`\n[pytest clients/python/tests]\n${pytest.output}\n`);
  assert.is(pytest.code, 0, `pytest failed (its output is above):\n${pytest.output.slice(-4000)}`);
  assert.match(pytest.output, /\b\d+ passed\b/);
  assert.not.match(pytest.output, /\b(skipped|xfailed)\b/, "no test skipped");
});

test.run();
