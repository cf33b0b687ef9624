/**
 * uvu's `suite`, made loud about set-up. uvu runs a suite's `before` hooks inside a `try` whose
 * `finally` returns, so an error thrown by a hook vanishes: the suite prints `(0 / 7)` and the run
 * exits 0. Here a failing `before` hook prints its error and turns every test of the suite into a
 * failure that names it; a failing `after` hook prints its error and fails the run at exit.
 * Whatever the suite started through the test helpers (started.ts) and did not stop is stopped
 * when its set-up fails (the servers started before the failing step), when a tear-down hook throws
 * (the lines after the throw never ran), and after its last tear-down hook: a suite never leaves a
 * server running to keep the test process alive.
 * Every test file imports `suite` from here, never from "uvu".
 */
import process from "node:process";
import { suite as uvuSuite, type Test } from "uvu";
import { recordResult } from "./results.ts";
import { startedMark, stopStartedSince } from "./started.ts";

type Context = Record<string, any>;

/** May return a promise (awaited). */
type Hook = (context: Context) => unknown;

let teardownFailures = 0;
process.on("exit", () => {
  // uvu sets process.exitCode from the test count when it finishes; this runs after it.
  if (teardownFailures > 0) process.exitCode = 1;
});

/**
 * What the runner's closing "Failed:" list says about a failure: the message's first line and, for
 * an assertion, what was expected and what came (CI shows the end of the log, where uvu's own diff
 * may have scrolled away).
 */
function describeFailure(error: unknown): string {
  const first = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  if (!(error instanceof Error) || !("expects" in error) || !("actual" in error)) return first;
  const shown = (value: unknown) => {
    const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  };
  return `${first} expected ${shown(error.expects)}, got ${shown(error.actual)}`;
}

function report(kind: string, suiteName: string, error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`\n[${kind} of suite "${suiteName}" failed]\n${text}\n`);
}

async function stopLeftovers(suiteName: string, mark: number, why: string): Promise<void> {
  const stopped = await stopStartedSince(mark);
  if (stopped.length > 0) process.stderr.write(`[suite "${suiteName}": ${why}; stopped ${stopped.join(", ")}]\n`);
}

export function suite(name: string): Test {
  const inner = uvuSuite(name);
  // Registered first, so it runs first: everything started after this mark belongs to this suite.
  let mark = Number.POSITIVE_INFINITY;
  inner.before(() => {
    mark = startedMark();
  });
  let setupError: unknown;
  const failed = () => setupError !== undefined;
  const wrapped = ((testName: string, handler: Hook) =>
    inner(testName, async (context) => {
      try {
        if (failed()) {
          const reason = setupError instanceof Error ? setupError.message : String(setupError);
          throw new Error(`not run: the set-up of suite "${name}" failed: ${reason}`);
        }
        await handler(context);
      } catch (error) {
        recordResult({ kind: "test", suite: name, test: testName, ok: false, error: describeFailure(error) });
        throw error;
      }
      recordResult({ kind: "test", suite: name, test: testName, ok: true });
    })) as unknown as Test;
  const before = ((hook: Hook) =>
    inner.before(async (context) => {
      if (failed()) return;
      try {
        await hook(context);
      } catch (error) {
        setupError = error;
        report("set-up", name, error);
        await stopLeftovers(name, mark, "its set-up failed");
      }
    })) as Test["before"];
  before.each = inner.before.each;
  const after = ((hook: Hook) =>
    inner.after(async (context) => {
      try {
        await hook(context);
      } catch (error) {
        teardownFailures += 1;
        recordResult({ kind: "teardown", suite: name, error: describeFailure(error) });
        report("tear-down", name, error);
        await stopLeftovers(name, mark, "its tear-down failed");
      }
    })) as Test["after"];
  after.each = inner.after.each;
  const run = () => {
    // Registered last (test files call run() after their hooks), so it runs after every tear-down.
    inner.after(() => stopLeftovers(name, mark, "still running after its tear-down"));
    inner.run();
  };
  Object.assign(wrapped, { before, after, only: inner.only, skip: inner.skip, run });
  return wrapped;
}
