/** The console's clock for long requests: elapsed time and the report's usual duration. */
import * as assert from "uvu/assert";
import { clockText, elapsedLine, usualDurationMs } from "../../src/console/timing.ts";
import { suite } from "../support/suite.ts";

const test = suite("console timing");

test("a clock a person reads at a glance", () => {
  assert.is(clockText(999), "0 s");
  assert.is(clockText(42_000), "42 s");
  assert.is(clockText(185_000), "3 min 05 s");
  assert.is(clockText(3_720_000), "1 h 02 min");
  assert.is(clockText(-5), "0 s", "a clock skewed ahead of the server never shows a negative time");
});

test("usually: the median of past completed runs, none without any", () => {
  assert.is(usualDurationMs([]), null);
  assert.is(usualDurationMs([undefined]), null);
  assert.is(usualDurationMs([300, 100, 200]), 200);
  assert.is(usualDurationMs([100, 200, 300, 1_000_000]), 250, "one outlier does not move it far");
});

test("the line says what is happening, for how long, and how long it usually takes", () => {
  const start = "2026-01-01T00:00:00.000Z";
  const now = Date.parse(start) + 75_000;
  assert.is(elapsedLine("running", start, now, 40_000), "Running for 1 min 15 s; this report usually takes 40 s.");
  assert.is(elapsedLine("pending", start, now, null), "Waiting for a worker for 1 min 15 s.");
  assert.is(elapsedLine("completed", start, now, 40_000), null);
  assert.is(elapsedLine("running", undefined, now, null), null);
});

test.run();
