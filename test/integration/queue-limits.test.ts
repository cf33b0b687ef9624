/**
 * MAX_QUEUED_PER_OWNER: one key keeps at most this many requests pending or running, whatever
 * their source; one more submit is refused with 429 problem+json. No worker runs here, so what is
 * submitted stays pending.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { request } from "../support/http.ts";

const test = suite("queue limits");
let mongo: TestMongo;
let service: TestService;
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");

test.before(async () => {
  mongo = await startTestMongo("queue_limits");
  service = await startTestService(mongo, {
    worker: false,
    config: { maxQueuedPerOwner: 3, reuseWindowMs: 0, apiKeys: parseApiKeys(`alice:${sha256("alice")},bob:${sha256("bob")}`) },
  });
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

const submit = (key: string, top: number) =>
  request(`${service.url}/v1/reports`, {
    method: "POST",
    json: { report_name: "top-movies-per-rating", top },
    headers: { Authorization: `Bearer ${key}` },
  });

test("a submit over MAX_QUEUED_PER_OWNER gets 429 too-many-queued; other keys are not affected; a finished request makes room", async () => {
  const ids: string[] = [];
  for (let top = 1; top <= 3; top++) {
    const accepted = await submit("alice", top);
    assert.is(accepted.status, 202);
    ids.push(accepted.body.id as string);
  }
  const over = await submit("alice", 4);
  assert.is(over.status, 429);
  assert.is(over.headers.get("content-type"), "application/problem+json");
  assert.is(over.body.type, "https://mongo-reports.dev/problems/too-many-queued");
  assert.is(over.body.limit, 3);
  assert.match(over.body.detail, /MAX_QUEUED_PER_OWNER is 3/);
  assert.ok(over.headers.get("retry-after"));
  assert.is((await submit("bob", 4)).status, 202, "the cap is per owner");
  const cancelled = await request(`${service.url}/v1/reports/${ids[0]}/cancel`, {
    method: "POST",
    json: {},
    headers: { Authorization: `Bearer alice` },
  });
  assert.is(cancelled.status, 200);
  assert.is((await submit("alice", 4)).status, 202, "a cancelled request no longer counts");
});

test.run();
