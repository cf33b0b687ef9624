/**
 * `npm test`'s runner: uvu over the built test files, in a process group of its own, so that when
 * it ends (or hangs past TEST_TIMEOUT_S) every process a test started (test MongoDB, GCS
 * emulator, workers) goes with it: a run leaves nothing behind. It exits non-zero when any test
 * failed, any suite's set-up failed, or uvu itself did not finish, and closes with the plain line
 * `N passed, N failed` that CI reads. Before any suite starts it runs the preparation step
 * (prepare.ts: tools installed and cached once). Once uvu has printed its summary it has EXIT_GRACE_S
 * to exit; a file that left something running (a server, a timer, a socket) would otherwise keep
 * it, and `npm test`, alive: the group is stopped and what was left is named.
 *
 *   node dist/test/support/run-tests.js [folder under dist/test] [file pattern]
 */
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { MissingToolError } from "../../scripts/lib/required-tools.ts";
import { prepareTestTools } from "./prepare.ts";

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

const child = spawn(process.execPath, [path.join(REPO_ROOT, "node_modules", "uvu", "bin.js"), folder, pattern], {
  cwd: REPO_ROOT,
  detached: true, // its own process group: killed whole below
  stdio: ["ignore", "pipe", "inherit"],
});

let output = "";
let graceTimer: NodeJS.Timeout | undefined;
let lingered = false;
child.stdout!.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  output += chunk.toString("utf8");
  if (output.length > 1_000_000) output = output.slice(-100_000); // only the summary at the end matters
  if (!graceTimer && /Duration:/.test(output)) graceTimer = setTimeout(stopLingering, exitGraceMs);
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
  killGroup();
}, timeoutMs);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => killGroup());

const code = await new Promise<number>((resolve) => child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))));
clearTimeout(timer);
clearTimeout(graceTimer);
killGroup(); // whatever the tests left running

const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const finished = /Duration:/.test(plain);
const failed = Math.max(total - passed, finished ? 0 : 1);
console.log(`${passed} passed, ${failed} failed`);
// uvu's own status (a teardown failure sets it), unless it was stopped for lingering after its summary.
const uvuFailed = code !== 0 && !lingered;
process.exit(uvuFailed || failed > 0 || !finished || total === 0 ? 1 : 0);
