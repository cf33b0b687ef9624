/** When a failed webhook delivery is tried again, and when it is given up. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { nextAttempt } from "../../src/webhooks/dispatcher.ts";
import type { RequestDocument } from "../../src/requests/document.ts";

const test = suite("webhook backoff");
const finishedAt = new Date("2026-01-01T00:00:00Z");
const doc = { _id: new ObjectId(), finished_at: finishedAt } as RequestDocument;
const config = { webhookRetryBaseMs: 5000, webhookMaxAgeMs: 86_400_000 };
const at = (ms: number) => new Date(finishedAt.getTime() + ms);

test("the delay doubles from the base with each attempt, up to an hour", () => {
  const delays = [1, 2, 3, 4, 12, 30].map((attempt) => nextAttempt(config, doc, attempt, finishedAt)!.getTime() - finishedAt.getTime());
  assert.equal(delays, [5000, 10_000, 20_000, 40_000, 3_600_000, 3_600_000]);
});

test("no further attempt once it would fall past WEBHOOK_MAX_AGE_S after the request finished", () => {
  assert.ok(nextAttempt(config, doc, 12, at(86_400_000 - 3_600_000)), "the last retry lands exactly at the deadline");
  assert.is(nextAttempt(config, doc, 12, at(86_400_000 - 3_599_999)), null);
  assert.is(nextAttempt({ ...config, webhookMaxAgeMs: 1000 }, doc, 1, finishedAt), null, "a window shorter than the first delay");
});

test.run();
