/**
 * Webhooks end to end: a real HTTP receiver started here, deliveries signed as Standard Webhooks
 * and checked by an independent implementation (the standardwebhooks package), retries until the
 * receiver accepts, a worker SIGKILLed mid-delivery, and callback URLs refused at submit.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ObjectId } from "mongodb";
import { Webhook } from "standardwebhooks";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post } from "../support/http.ts";
import { spawnWorker, stopWorker } from "../support/processes.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";
import { parseWebhookSecret } from "../../src/config/webhooks.ts";
import { WebhookDispatcher } from "../../src/webhooks/dispatcher.ts";
import { Worker } from "../../src/worker/worker.ts";

const REPORTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "progress-reports");
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;

const test = suite("webhooks");
let mongo: TestMongo;
let service: TestService;
let receiver: WebhookReceiver;

test.before(async () => {
  mongo = await startTestMongo("webhooks");
  // The API alone: each test runs the workers it needs (in process, or as processes to kill).
  service = await startTestService(mongo, {
    worker: false,
    config: {
      reportsDirs: [REPORTS_DIR],
      reuseWindowMs: 0,
      webhookSecret: parseWebhookSecret(SECRET),
      webhookAllowHosts: ["127.0.0.1"],
      webhookTimeoutMs: 2000,
      webhookRetryBaseMs: 100,
    },
  });
  await service.context.database.db
    .collection("movies")
    .insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: i as any, title: `movie ${i}` })));
});

test.before.each(async () => {
  receiver = await startWebhookReceiver();
});

test.after.each(async () => {
  await receiver?.close();
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

function verify(delivery: { headers: Record<string, unknown>; body: string }): any {
  const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k, String(v)]));
  return new Webhook(SECRET).verify(delivery.body, headers);
}

test("a receiver failing twice then accepting gets three signed attempts with one webhook-id; the status shows the outcome", async () => {
  receiver.script.push(500, 503);
  const webhooks = new WebhookDispatcher({ ...service.context, requests: service.context.database.requests });
  // As in a worker process (main/background.ts): the worker that finishes the request wakes the dispatcher.
  const worker = new Worker({ ...service.context, onDeliveryDue: () => webhooks.wake() });
  worker.start();
  webhooks.start();
  try {
    const submitted = await post(`${service.url}/v1/reports`, {
      report_name: "every-movie",
      callback_url: `${receiver.url}/hooks/reports?token=t1`,
    });
    assert.is(submitted.status, 202, JSON.stringify(submitted.body));
    assert.equal(submitted.body.callback, { state: "pending", attempts: 0, last_status: null });
    const id = submitted.body.id;
    const status = await eventually(async () => {
      const body = (await get(`${service.url}/v1/reports/${id}`)).body;
      return body.callback?.state === "delivered" ? body : undefined;
    }, 20_000);
    assert.equal(status.callback, { state: "delivered", attempts: 3, last_status: 200 });
    assert.is(receiver.received.length, 3);
    for (const delivery of receiver.received) {
      assert.is(delivery.path, "/hooks/reports?token=t1");
      assert.is(delivery.headers["webhook-id"], `msg_${id}`, "one id across attempts: receivers drop duplicates by it");
      assert.is(delivery.headers["content-type"], "application/json");
      const payload = verify(delivery);
      assert.is(payload.id, id);
      assert.is(payload.status, "completed");
      assert.is(payload.report_name, "every-movie");
      assert.not.ok("callback" in payload, "the body is the status, not the delivery bookkeeping");
    }
    // A forged or altered body does not verify.
    assert.throws(() => verify({ ...receiver.received[2], body: receiver.received[2].body.replace("completed", "error") }));
  } finally {
    await worker.stop();
    await webhooks.stop();
  }
});

test("a worker SIGKILLed mid-delivery: another worker delivers it after the lease, with the same webhook-id", async () => {
  receiver.script.push("hang");
  const env = {
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
    WEBHOOK_TIMEOUT_MS: "2000",
    REPORTS_DIRS: REPORTS_DIR,
  };
  const first = spawnWorker(mongo, { env });
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "every-movie", callback_url: `${receiver.url}/hook` });
  assert.is(submitted.status, 202);
  await eventually(async () => (receiver.received.length === 1 ? true : undefined), 20_000);
  await stopWorker(first, "SIGKILL");
  const second = spawnWorker(mongo, { env });
  try {
    await eventually(async () => (receiver.received.length === 2 ? true : undefined), 20_000);
    const status = await eventually(async () => {
      const body = (await get(`${service.url}/v1/reports/${submitted.body.id}`)).body;
      return body.callback?.state === "delivered" ? body : undefined;
    }, 10_000);
    assert.equal(status.callback, { state: "delivered", attempts: 2, last_status: 200 });
    assert.is(receiver.received[0].headers["webhook-id"], receiver.received[1].headers["webhook-id"]);
    assert.is(verify(receiver.received[1]).status, "completed");
    await second.waitFor((entry) => entry.event === "webhook.delivered");
  } finally {
    await stopWorker(second);
  }
});

test("callback URLs that reach loopback, link-local or private addresses, or plain http, are refused at submit", async () => {
  const before = await service.context.database.requests.countDocuments({});
  for (const [url, why] of [
    ["https://localhost:8443/hook", /loopback, link-local or private/],
    ["https://127.0.0.2/hook", /127\.0\.0\.0\/8/],
    ["https://10.1.2.3/hook", /10\.0\.0\.0\/8/],
    ["https://169.254.169.254/latest/meta-data", /169\.254\.0\.0\/16/],
    ["https://[::1]/hook", /loopback/],
    ["https://[::ffff:192.168.0.1]/hook", /192\.168\.0\.0\/16/],
    ["http://example.com/hook", /must be https/],
    ["ftp://127.0.0.1/hook", /must be https/],
    ["https://user:pw@example.com/hook", /credentials/],
    ["not a url", /not a URL/],
  ] as const) {
    const response = await post(`${service.url}/v1/reports`, { report_name: "every-movie", callback_url: url });
    assert.is(response.status, 400, url);
    assert.is(response.body.type, "https://mongo-reports.dev/problems/invalid-parameters");
    assert.is(response.body.errors[0].field, "callback_url");
    assert.match(response.body.errors[0].message, why, `${url}: ${response.body.errors[0].message}`);
  }
  assert.is(await service.context.database.requests.countDocuments({}), before, "nothing was stored");
  // The allowed host passes over http, and the request carries its delivery state.
  const allowed = await post(`${service.url}/v1/reports`, { report_name: "every-movie", callback_url: "http://127.0.0.1:1/hook" });
  assert.is(allowed.status, 202);
  const stored = await service.context.database.requests.findOne({ _id: new ObjectId(allowed.body.id) });
  assert.is(stored!.callback!.url, "http://127.0.0.1:1/hook");
  assert.is(stored!.callback!.webhook_id, `msg_${allowed.body.id}`);
  await service.context.database.requests.deleteOne({ _id: stored!._id }); // no worker should try it later
});

test.run();
