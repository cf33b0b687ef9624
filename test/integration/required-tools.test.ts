/**
 * Missing programs are named in one line that says what to install: `npm start` and `npm run db`
 * without Java, the embedded MongoDB's first compile without Maven, and the test tools as prepared.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import * as assert from "uvu/assert";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { JAVA, JAVAC, MAVEN, MissingToolError, requireTools } from "../../scripts/lib/required-tools.ts";
import { suite } from "../support/suite.ts";
import { fakeGcsServerBin, helmBin, venvPython } from "../support/tools.ts";

const test = suite("required tools");

/** A PATH holding only the named programs (symlinks to this machine's own). */
function pathWith(...programs: string[]): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "mongo-reports-path-"));
  for (const program of programs) {
    const found = spawnSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).stdout.trim();
    assert.ok(found, `${program} is on this machine's PATH`);
    symlinkSync(found, path.join(dir, program));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

for (const script of ["start", "db"]) {
  test(`${script} without Java ends with one line naming Java and how to install it`, () => {
    const bin = pathWith("node");
    try {
      const env: Record<string, string | undefined> = { ...process.env, PATH: bin.dir, MONGODB_PORT: "0" };
      delete env.MONGODB_URI;
      const result = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "scripts", `${script}.js`)], {
        cwd: REPO_ROOT,
        env,
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.is(result.status, 1, `exit status (stderr: ${result.stderr})`);
      const lines = result.stderr.split("\n").filter((line) => line.trim() !== "");
      assert.is(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
      assert.match(
        lines[0],
        /needs Java 17 or newer, not found on PATH: install a JDK 17\+ \(Debian\/Ubuntu: apt-get install openjdk-17-jdk-headless/,
      );
      assert.match(lines[0], /or set MONGODB_URI to a MongoDB of your own\.$/);
      assert.not.match(result.stderr + result.stdout, /ENOENT|    at /, "no stack trace");
    } finally {
      bin.cleanup();
    }
  });
}

test("Java without Maven: the launcher's compile names Maven only", () => {
  const bin = pathWith("java", "javac");
  const saved = process.env.PATH;
  process.env.PATH = bin.dir;
  try {
    requireTools([JAVA, JAVAC, MAVEN], "The embedded MongoDB");
    assert.unreachable("Maven is missing");
  } catch (error) {
    assert.instance(error, MissingToolError);
    assert.match(
      (error as Error).message,
      /^The embedded MongoDB needs Maven, not found on PATH: install Maven \(Debian\/Ubuntu: apt-get install maven/,
    );
    assert.not.match((error as Error).message, /Java|\n/);
  } finally {
    process.env.PATH = saved;
    bin.cleanup();
  }
});

test("nothing missing: no error", () => {
  requireTools([JAVA, JAVAC, MAVEN], "The embedded MongoDB");
});

test("the prepared test tools run: fake-gcs-server, helm 4, and the venv with every pinned package", () => {
  const gcs = spawnSync(fakeGcsServerBin(), ["-help"], { encoding: "utf8" });
  assert.match(gcs.stderr + gcs.stdout, /Usage of .*fake-gcs-server/);
  const helm = spawnSync(helmBin(), ["version", "--short"], { encoding: "utf8" });
  assert.match(helm.stdout, /^v4\./);
  const imports = spawnSync(venvPython(), ["-c", "import schemathesis, pytest, httpx, pyarrow, openpyxl, pandas; print('ok')"], {
    encoding: "utf8",
  });
  assert.is(imports.stdout.trim(), "ok", imports.stderr);
});

test.run();
