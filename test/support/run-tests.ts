/**
 * `npm test`'s runner: uvu over the built test files, in a process group of its own, so that when
 * it ends (or hangs past TEST_TIMEOUT_S) every process a test started (test MongoDB, GCS
 * emulator, workers) goes with it: a run leaves nothing behind. It counts results, not uvu's
 * printed text: every test run through suite.ts records itself in TEST_RESULTS_FILE (results.ts).
 * It exits non-zero when any test or tear-down failed, uvu itself failed or did not finish, or no
 * test ran, and closes with the plain line `N passed, N failed` that CI reads. Before any suite starts it runs the preparation step
 * (prepare.ts: tools installed and cached once). Once uvu has printed its summary it has EXIT_GRACE_S
 * to exit; a file that left something running (a server, a timer, a socket) would otherwise keep
 * it, and `npm test`, alive: the group is stopped and what was left is named.
 *
 *   node dist/test/support/run-tests.js [folder under dist/test] [file pattern]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { MissingToolError } from "../../scripts/lib/required-tools.ts";
import { prepareTestTools } from "./prepare.ts";
import { readResults } from "./results.ts";

const folder = path.join(REPO_ROOT, "dist", "test", process.argv[2] ?? "");
const pattern = process.argv[3] ?? "\\.test\\.js$";
const timeoutMs = Number(process.env.TEST_TIMEOUT_S ?? 1800) * 1000;
const exitGraceMs = Number(process.env.TEST_EXIT_GRACE_S ?? 30) * 1000;

try {
  await prepareTestTools();
} catch (error) {
  const text = error instanceof MissingToolError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`\n[preparing the test tools failed: no suite was started]\n${text}\n`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const resultsDir = mkdtempSync(path.join(tmpdir(), "mongo-reports-tests-"));
const resultsFile = path.join(resultsDir, "results.jsonl");
const child = spawn(process.execPath, [path.join(REPO_ROOT, "node_modules", "uvu", "bin.js"), folder, pattern], {
  cwd: REPO_ROOT,
  env: { ...process.env, TEST_RESULTS_FILE: resultsFile },
  detached: true, // its own process group: killed whole below
  stdio: ["ignore", "pipe", "inherit"],
});

// uvu's summary line is the one sign that it has run every file: from then on it has
// EXIT_GRACE_S to exit. Only this timing reads the text; the counts come from the results file.
let tail = "";
let graceTimer: NodeJS.Timeout | undefined;
let lingered = false;
let timedOut = false;
child.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString("utf8")).slice(-200);
  if (!graceTimer && tail.includes("Duration:")) graceTimer = setTimeout(stopLingering, exitGraceMs);
});

/** uvu printed its summary but did not exit: name what is still running in its group, then stop it. */
function stopLingering(): void {
  let left = "";
  try {
    left = execFileSync("ps", ["-o", "pid=,args=", "-g", String(child.pid)], { encoding: "utf8" }).trim();
  } catch {
    // no ps, or nothing left
  }
  process.stderr.write(
    `\n[the tests finished, but their process did not exit within ${exitGraceMs / 1000} s: a file left a handle open; stopping]\n` +
      (left ? `${left}\n` : ""),
  );
  lingered = true;
  killGroup();
}

const killGroup = () => {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
};
const timer = setTimeout(() => {
  process.stderr.write(`\n[tests did not finish within ${timeoutMs / 1000} s: stopping them]\n`);
  timedOut = true;
  killGroup();
}, timeoutMs);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => killGroup());

const code = await new Promise<number>((resolve) => child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
clearTimeout(timer);
clearTimeout(graceTimer);
killGroup(); // whatever the tests left running

const results = readResults(resultsFile);
rmSync(resultsDir, { recursive: true, force: true });
// uvu's own status (a file that threw while loading, a teardown failure), unless it was stopped
// for lingering after its summary; a run stopped at TEST_TIMEOUT_S did not finish.
const uvuFailed = (code !== 0 && !lingered) || timedOut;
const failed = results.failed + (uvuFailed && results.failed === 0 ? 1 : 0);
if (results.failures.length > 0) process.stderr.write(`\nFailed:\n${results.failures.map((line) => `  ${line}`).join("\n")}\n`);
console.log(`${results.passed} passed, ${failed} failed`);
process.exit(failed > 0 || results.passed === 0 ? 1 : 0);
