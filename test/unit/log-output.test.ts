/**
 * The default log output writes a turn's lines together: what must hold is that every line
 * arrives, whole and in order, however the process ends. Each case runs a small Node process
 * that logs through the built logger and ends as the case says; its standard output is read back.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";

const test = suite("log output");
const LOG_MODULE = pathToFileURL(path.join(REPO_ROOT, "dist", "src", "log.js")).href;

/** Runs `body` (an ES module's code after `log` is made) in a fresh Node process; returns its exit code and parsed stdout lines. */
function run(body: string): { status: number | null; events: string[]; stderr: string } {
  const script = `import { createLogger } from ${JSON.stringify(LOG_MODULE)};\nconst log = createLogger({ component: "t" }, "info");\n${body}`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  const lines = child.stdout.split("\n").filter(Boolean);
  const events = lines.map((line) => (JSON.parse(line) as { event: string }).event);
  return { status: child.status, events, stderr: child.stderr };
}

test("lines logged just before process.exit are written", () => {
  const { status, events } = run(`log.info("a"); log.warn("b"); log.error("c"); process.exit(3);`);
  assert.is(status, 3);
  assert.equal(events, ["a", "b", "c"]);
});

test("lines logged before an uncaught error ends the process are written", () => {
  const { status, events, stderr } = run(`log.info("before"); setImmediate(() => { log.error("last"); throw new Error("boom"); });`);
  assert.is(status, 1);
  assert.match(stderr, "boom");
  assert.equal(events, ["before", "last"]);
});

test("many lines in one turn (past the flush size) arrive whole and in order, with later turns after them", () => {
  const { status, events } = run(
    `for (let i = 0; i < 5000; i++) log.info("e" + i, { padding: "x".repeat(40) });\nsetTimeout(() => log.info("later"), 5);`,
  );
  assert.is(status, 0);
  assert.is(events.length, 5001);
  assert.equal(events.slice(0, 3), ["e0", "e1", "e2"]);
  assert.is(events[4999], "e4999");
  assert.is(events[5000], "later");
});

test.run();
