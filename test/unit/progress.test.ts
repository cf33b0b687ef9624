/** The in-memory progress of a running job: phases, rows, bytes, and the change counter the keeper writes by. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ProgressTracker } from "../../src/worker/progress.ts";

const test = suite("progress");

test("phases move queued → aggregating → writing (first row) → uploading, each with its own start time", () => {
  const t0 = new Date(1_000_000);
  const tracker = new ProgressTracker(t0);
  assert.equal(tracker.snapshot(new Date(1_000_500)), {
    phase: "queued",
    rows: 0,
    phase_started_at: t0,
    phase_ms: 500,
    updated_at: new Date(1_000_500),
  });
  tracker.phase("aggregating", new Date(1_001_000));
  assert.is(tracker.snapshot(new Date(1_001_250)).phase_ms, 250);
  tracker.rowWritten();
  tracker.rowWritten();
  const writing = tracker.snapshot();
  assert.is(writing.phase, "writing");
  assert.is(writing.rows, 2);
  assert.not.ok("bytes" in writing, "no bytes for a json-only job");
  tracker.bytesWritten(120);
  tracker.phase("uploading");
  assert.is(tracker.snapshot().phase, "uploading");
  assert.is(tracker.snapshot().bytes, 120);
});

test("the change counter moves only when something changed", () => {
  const tracker = new ProgressTracker();
  const start = tracker.changes;
  tracker.phase("queued");
  tracker.bytesWritten(0);
  const afterBytes = tracker.changes;
  assert.is(afterBytes, start + 1, "the first byte count is a change; re-entering the same phase is not");
  tracker.bytesWritten(0);
  assert.is(tracker.changes, afterBytes);
  tracker.rowWritten();
  assert.ok(tracker.changes > afterBytes);
});

test.run();
