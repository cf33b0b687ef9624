/**
 * `npm test`'s runner: uvu over the built test files, in a process group of its own, so that when
 * it ends (or hangs past TEST_TIMEOUT_S) every process a test started (test MongoDB, GCS
 * emulator, workers) goes with it: a run leaves nothing behind. It exits non-zero when any test
 * failed, any suite's set-up failed, or uvu itself did not finish, and closes with the plain line
 * `N passed, N failed` that CI reads.
 *
 *   node dist/test/support/run-tests.js [folder under dist/test] [file pattern]
 */
import { spawn } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";

const folder = path.join(REPO_ROOT, "dist", "test", process.argv[2] ?? "");
const pattern = process.argv[3] ?? "\\.test\\.js$";
const timeoutMs = Number(process.env.TEST_TIMEOUT_S ?? 1800) * 1000;

const child = spawn(process.execPath, [path.join(REPO_ROOT, "node_modules", "uvu", "bin.js"), folder, pattern], {
  cwd: REPO_ROOT,
  detached: true, // its own process group: killed whole below
  stdio: ["ignore", "pipe", "inherit"],
});

let output = "";
child.stdout!.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  output += chunk.toString("utf8");
  if (output.length > 1_000_000) output = output.slice(-100_000); // only the summary at the end matters
});

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
killGroup(); // whatever the tests left running

const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const finished = /Duration:/.test(plain);
const failed = Math.max(total - passed, finished ? 0 : 1);
console.log(`${passed} passed, ${failed} failed`);
process.exit(code !== 0 || failed > 0 || !finished || total === 0 ? 1 : 0);
