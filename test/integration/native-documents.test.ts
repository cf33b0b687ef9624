/**
 * Documents integrations insert straight into `report_requests`, attacking what the service trusts:
 * a final status, an owner, a callback, a result naming another request's file, a string `_id`
 * equal to a real request's, fields the claim cannot update. Against the real service (access
 * control on, webhooks on, local CSV sink) and a real webhook receiver. What an integration may
 * write is in docs/integrations.md.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ObjectId } from "mongodb";
import { Webhook } from "standardwebhooks";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { fingerprint } from "../../src/requests/fingerprint.ts";
import { parseWebhookSecret } from "../../src/config/webhooks.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post, request } from "../support/http.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";
import { forgedCompletedRequest } from "../support/forged-request.ts";

const REPORTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "progress-reports");
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
const ALICE = auth("alice-secret");
const BOB = auth("bob-secret");
const OPS = auth("ops-secret");

const test = suite("native documents");
let mongo: TestMongo;
let service: TestService;
let receiver: WebhookReceiver;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "native-docs-"));
  mongo = await startTestMongo("native-documents");
  receiver = await startWebhookReceiver();
  service = await startTestService(mongo, {
    config: {
      reportsDirs: [REPORTS_DIR],
      reuseWindowMs: 600_000,
      apiKeys: parseApiKeys(
        [`alice:${sha256("alice-secret")}`, `bob:${sha256("bob-secret")}`, `ops:${sha256("ops-secret")}:admin`].join(","),
      ),
      webhookSecret: parseWebhookSecret(SECRET),
      webhookAllowHosts: ["127.0.0.1"],
      webhookRetryBaseMs: 100,
      csv: { linkExpirySeconds: 3600, localDir: dir, gcs: null },
    },
  });
  await service.context.database.db
    .collection("movies")
    .insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: i as any, title: `movie ${i}` })));
});

test.after(async () => {
  await service?.close();
  await receiver?.close();
  await mongo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const requests = () => service.context.database.requests;
const finalStatus = (id: unknown, headers: Record<string, string>) =>
  eventually(async () => {
    const response = await get(`${service.url}/v1/reports/${id}`, headers);
    return ["completed", "error", "cancelled"].includes(response.body.status) ? response.body : undefined;
  }, 30_000);

test("a document inserted already completed, owned by bob, naming bob's CSV: bob never sees it, nobody downloads or deletes the file", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "every-movie", output: "csv" }, BOB);
  const bobs = await finalStatus(submitted.body.id, BOB);
  assert.is(bobs.status, "completed", JSON.stringify(bobs.error));
  const bobsFile = path.join(dir, bobs.csv.object);
  const forged = new ObjectId();
  await requests().insertOne(
    forgedCompletedRequest(
      "every-movie",
      { row_count: 5, columns: ["title"], csv: { sink: "local", object: bobs.csv.object, bytes: 1, rows: 5 } },
      { _id: forged, owner: "bob" },
    ),
  );
  assert.is((await get(`${service.url}/v1/reports/${forged}`, BOB)).status, 404, "not bob's: the API never gave it that owner");
  const history = await get(`${service.url}/v1/reports`, BOB);
  assert.not.ok(
    history.body.items.some((r: { id: string }) => r.id === forged.toHexString()),
    "nor in bob's history",
  );
  const asAdmin = await get(`${service.url}/v1/reports/${forged}`, OPS);
  assert.is(asAdmin.body.status, "error", "an admin sees it for what it is");
  assert.is(asAdmin.body.error.code, "not_admitted");
  assert.is(asAdmin.body.csv, undefined, "with no file");
  assert.is.not((await get(`${service.url}/v1/reports/${forged}/csv`, OPS)).status, 200);
  assert.ok([204, 404].includes((await request(`${service.url}/v1/reports/${forged}`, { method: "DELETE", headers: OPS })).status));
  assert.ok(existsSync(bobsFile), "bob's file is still there");
  assert.is((await fetch(`${service.url}/v1/reports/${bobs.id}/csv`, { headers: BOB })).status, 200);
});

test("a pending document naming an owner is refused by the worker (validation, naming the field) and stays no one's", async () => {
  const { insertedId } = await requests().insertOne({ owner: "bob", report_name: "every-movie", params: {}, status: "pending" } as any);
  const done = await finalStatus(insertedId, OPS);
  assert.is(done.status, "error");
  assert.is(done.error.code, "validation");
  assert.ok(done.error.message.includes("owner"), done.error.message);
  assert.is((await get(`${service.url}/v1/reports/${insertedId}`, BOB)).status, 404);
  assert.is((await requests().findOne({ _id: insertedId }))?.owner, undefined, "the owner it claimed is removed");
});

test("a plain integration request (report_name, params, status) runs, sealed as ownerless: admins see it, keys do not", async () => {
  const { insertedId } = await requests().insertOne({ report_name: "every-movie", params: {}, status: "pending" } as any);
  const done = await finalStatus(insertedId, OPS);
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.total_rows, 5);
  assert.is((await get(`${service.url}/v1/reports/${insertedId}`, ALICE)).status, 404);
});

test("a final document with a string _id equal to a real request's and its own callback: only the genuine webhook is ever sent", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "every-movie", callback_url: `${receiver.url}/hook` }, ALICE);
  assert.is(submitted.status, 202, JSON.stringify(submitted.body));
  const id = submitted.body.id as string;
  const evil = { url: "https://attacker.example/evil.csv", url_expires_at: new Date(Date.now() + 86_400_000) };
  await requests().insertOne(
    forgedCompletedRequest(
      "every-movie",
      { row_count: 1, columns: ["title"], csv: { sink: "gcs", bucket: "b", object: "x.csv", bytes: 1, rows: 1, ...evil } },
      {
        _id: id,
        owner: "alice",
        callback: { url: `${receiver.url}/hook`, webhook_id: `msg_${id}`, state: "pending", attempts: 0, next_at: new Date() },
      },
    ),
  );
  await finalStatus(id, ALICE);
  await eventually(async () => ((await requests().countDocuments({ "callback.state": "pending" })) === 0 ? true : undefined), 30_000);
  const forged = await requests().findOne({ _id: id as any });
  assert.is(forged?.callback?.state, "failed", "the forged delivery is refused, not retried");
  assert.ok(/did not accept/.test(forged?.callback?.last_error ?? ""), forged?.callback?.last_error ?? "");
  const bodies = receiver.received
    .filter((r) => r.path === "/hook")
    .map((r) => new Webhook(SECRET).verify(r.body, r.headers as any) as any);
  assert.is(bodies.length, 1, "one delivery: the genuine one");
  assert.is(bodies[0].id, id);
  assert.is(bodies[0].status, "completed");
  assert.is(bodies[0].gcs_link, undefined, "no attacker link");
});

test("a pending document with its own callback is refused by the worker; its callback is never called", async () => {
  const before = receiver.received.length;
  const { insertedId } = await requests().insertOne({
    report_name: "every-movie",
    params: {},
    status: "pending",
    callback: { url: `${receiver.url}/native`, webhook_id: "msg_x", state: "pending", attempts: 0, next_at: new Date() },
  } as any);
  const done = await finalStatus(insertedId, OPS);
  assert.is(done.status, "error");
  assert.ok(done.error.message.includes("callback"), done.error.message);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // two sweeps of the dispatcher
  assert.is(receiver.received.slice(before).filter((r) => r.path === "/native").length, 0);
});

test("a completed document carrying a request's fingerprint is never handed out as a reused result", async () => {
  const body = { report_name: "every-movie", output: "json" as const, params: {} };
  await requests().insertOne({
    report_name: "every-movie",
    params: {},
    output: "json",
    status: "completed",
    attempts: 1,
    lease: null,
    owner: "alice",
    fingerprint: fingerprint(body),
    report_date: new Date(),
    finished_at: new Date(),
    result: { row_count: 0, columns: ["title"], attempt: 1, rows_per_chunk: 1000 },
  } as any);
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "every-movie" }, ALICE);
  assert.is(submitted.status, 202, "a new run, not a reused forged result");
  assert.is(submitted.headers.get("x-reused-result"), null);
});

test("a pending document whose attempts is a string, first in line, is set aside; the queue goes on", async () => {
  await requests().insertOne({
    _id: new ObjectId("000000000000000000000001"),
    report_name: "every-movie",
    params: {},
    status: "pending",
    attempts: "x",
    report_date: 0,
  } as any);
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "every-movie", output: "csv" }, ALICE);
  const done = await finalStatus(submitted.body.id, ALICE);
  assert.is(done.status, "completed", JSON.stringify(done.error));
  const poison = await get(`${service.url}/v1/reports/000000000000000000000001`, OPS);
  assert.is(poison.body.status, "error");
  assert.is(poison.body.error.code, "invalid_document");
});

test.run();
