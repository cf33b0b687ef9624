/**
 * uvu's `suite`, made loud about set-up. uvu runs a suite's `before` hooks inside a `try` whose
 * `finally` returns, so an error thrown by a hook vanishes: the suite prints `(0 / 7)` and the run
 * exits 0. Here a failing `before` hook prints its error and turns every test of the suite into a
 * failure that names it; a failing `after` hook prints its error and fails the run at exit.
 * Every test file imports `suite` from here, never from "uvu".
 */
import process from "node:process";
import { suite as uvuSuite, type Test } from "uvu";

type Context = Record<string, any>;

type Hook = (context: Context) => unknown | Promise<unknown>;

let teardownFailures = 0;
process.on("exit", () => {
  // uvu sets process.exitCode from the test count when it finishes; this runs after it.
  if (teardownFailures > 0) process.exitCode = 1;
});

function report(kind: string, suiteName: string, error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`\n[${kind} of suite "${suiteName}" failed]\n${text}\n`);
}

export function suite(name: string): Test {
  const inner = uvuSuite(name);
  let setupError: unknown;
  const failed = () => setupError !== undefined;
  const wrapped = ((testName: string, handler: Hook) =>
    inner(testName, async (context) => {
      if (failed()) {
        const reason = setupError instanceof Error ? setupError.message : String(setupError);
        throw new Error(`not run: the set-up of suite "${name}" failed: ${reason}`);
      }
      await handler(context);
    })) as unknown as Test;
  const before = ((hook: Hook) =>
    inner.before(async (context) => {
      if (failed()) return;
      try {
        await hook(context);
      } catch (error) {
        setupError = error;
        report("set-up", name, error);
      }
    })) as Test["before"];
  before.each = inner.before.each;
  const after = ((hook: Hook) =>
    inner.after(async (context) => {
      try {
        await hook(context);
      } catch (error) {
        teardownFailures += 1;
        report("tear-down", name, error);
      }
    })) as Test["after"];
  after.each = inner.after.each;
  Object.assign(wrapped, { before, after, only: inner.only, skip: inner.skip, run: () => inner.run() });
  return wrapped;
}
