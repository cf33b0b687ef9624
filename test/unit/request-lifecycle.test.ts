/** The lifecycle positions behind SSE event ids: order, parsing, and the steps a reconnect replays. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { compareSteps, formatStep, lifecycleOf, missedSteps, parseStep } from "../../src/requests/lifecycle.ts";

const test = suite("lifecycle");

test("positions grow along pending → running → pending (retry) → running → finished", () => {
  const path = [
    lifecycleOf({ status: "pending", attempts: 0 }),
    lifecycleOf({ status: "running", attempts: 1 }),
    lifecycleOf({ status: "pending", attempts: 1 }),
    lifecycleOf({ status: "running", attempts: 2 }),
    lifecycleOf({ status: "completed", attempts: 2 }),
  ];
  assert.equal(path.map(formatStep), ["0.2", "1.1", "1.2", "2.1", "2.3"]);
  for (let i = 1; i < path.length; i++)
    assert.ok(compareSteps(path[i - 1], path[i]) < 0, `${formatStep(path[i])} after ${formatStep(path[i - 1])}`);
  // A cancelled pending request finishes after its pending step.
  assert.ok(compareSteps({ attempts: 0, step: 2 }, lifecycleOf({ status: "cancelled", attempts: 0 })) < 0);
  // A Mongo-native document may lack attempts.
  assert.equal(lifecycleOf({ status: "pending" }), { attempts: 0, step: 2 });
});

test("Last-Event-ID parses only our own ids", () => {
  assert.equal(parseStep("3.1"), { attempts: 3, step: 1 });
  assert.equal(parseStep(" 0.2 "), { attempts: 0, step: 2 });
  for (const bad of [undefined, "", "1", "1.4", "a.1", "-1.2", "1.2.3", "9999999.1"]) assert.is(parseStep(bad), null, String(bad));
});

test("a reconnect replays exactly the steps between the last one seen and the current one", () => {
  const completed = lifecycleOf({ status: "completed", attempts: 1 });
  assert.equal(missedSteps(null, completed).map(formatStep), ["0.2", "1.1"]);
  assert.equal(missedSteps(parseStep("0.2"), completed).map(formatStep), ["1.1"]);
  assert.equal(missedSteps(parseStep("1.1"), completed).map(formatStep), []);
  const retried = lifecycleOf({ status: "completed", attempts: 3 });
  assert.equal(missedSteps(parseStep("1.1"), retried).map(formatStep), ["1.2", "2.1", "2.2", "3.1"]);
  assert.equal(missedSteps(parseStep("0.2"), lifecycleOf({ status: "running", attempts: 1 })), []);
  assert.equal(missedSteps(null, lifecycleOf({ status: "cancelled", attempts: 0 })).map(formatStep), ["0.2"]);
  // Seen ahead of the document (a released attempt went back to pending): nothing to replay.
  assert.equal(missedSteps(parseStep("2.1"), lifecycleOf({ status: "pending", attempts: 1 })), []);
});

test.run();
