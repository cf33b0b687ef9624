/**
 * CSV export to Google Cloud Storage, against fake-gcs-server (a real HTTP server speaking the
 * GCS JSON and resumable-upload APIs) and the real service: bytes, metadata, signed links,
 * streaming of a large export, and what a failing or vanished emulator does to a request.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { createHash, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable, finished } from "node:stream";
import { ConfigError, loadConfig, type CsvConfig } from "../../src/config.ts";
import type { CsvSink } from "../../src/results/sinks/sink.ts";
import { createGcsSink, STREAMED_AHEAD_BYTES } from "../../src/results/sinks/gcs.ts";
import { purgeExpired } from "../../src/worker/retention.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post, request, submitAndWait as submitAndWaitAt } from "../support/http.ts";
import { startFakeGcs, type FakeGcs } from "../support/gcs.ts";
import { AWKWARD_CSV, awkwardReport, bulkLine, bulkReport, loadAwkward, loadBulk } from "../support/csv-fixture.ts";
import { forgedCompletedRequest } from "../support/forged-request.ts";

const test = suite("gcs");

const BUCKET = "reports-test";
const CLIENT_EMAIL = "csv-exporter@test-project.iam.gserviceaccount.com";
const EXPIRY_S = 900;
const BULK_ROWS = 200_000;

let mongo: TestMongo;
let gcs: FakeGcs;
let service: TestService;
let keyDir: string;
let publicKey: KeyObject;

test.before(async () => {
  // A throwaway service-account key made at test time: it signs URLs offline, never leaves here.
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  publicKey = pair.publicKey;
  keyDir = mkdtempSync(path.join(tmpdir(), "gcs-key-"));
  const keyFile = path.join(keyDir, "key.json");
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: "service_account",
      project_id: "test-project",
      client_email: CLIENT_EMAIL,
      private_key: pair.privateKey.export({ type: "pkcs8", format: "pem" }),
    }),
  );
  [mongo, gcs] = await Promise.all([startTestMongo("gcs"), startFakeGcs()]);
  await gcs.createBucket(BUCKET);
  const csv: CsvConfig = {
    linkExpirySeconds: EXPIRY_S,
    localDir: path.join(keyDir, "unused"),
    // chunkSizeBytes 0: the default, one streamed resumable request per file.
    gcs: { bucket: BUCKET, keyFile, emulatorHost: gcs.url, projectId: "test-project", maxRetries: 1, chunkSizeBytes: 0 },
  };
  service = await startTestService(mongo, {
    config: { catalogueReloadMs: 0, reuseWindowMs: 0, maxAttempts: 3, csv },
    // The worker takes its sink when it starts: watch the bytes from the start, counting only while a test asks.
    prepare: (context) => {
      context.csvSink = observeSink(context.csvSink, () => watching);
    },
  });
  service.context.catalogue.add(awkwardReport);
  service.context.catalogue.add(bulkReport);
  await loadAwkward(service.context.database.db);
  await loadBulk(service.context.database.db, BULK_ROWS);
});

test.after(async () => {
  await service?.close();
  await Promise.all([mongo?.stop(), gcs?.stop()]);
  rmSync(keyDir, { recursive: true, force: true });
});

const objectUrl = (name: string) => `${gcs.url}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}`;
const mediaUrl = (name: string) => `${gcs.url}/download/storage/v1/b/${BUCKET}/o/${encodeURIComponent(name)}?alt=media`;

async function listObjects(prefix: string): Promise<string[]> {
  const response = await fetch(`${gcs.url}/storage/v1/b/${BUCKET}/o?prefix=${encodeURIComponent(prefix)}`);
  const body = (await response.json()) as { items?: { name: string }[] };
  return (body.items ?? []).map((item) => item.name);
}

const submitAndWait = (body: Record<string, unknown>, waitS?: number) => submitAndWaitAt(service.url, body, waitS);

/** RFC 3986 encoding, as V4 signing canonicalises query parameters. */
const rfc3986 = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Checks a V4 signed URL the way GCS does: rebuild the canonical request and string-to-sign
 * from the URL alone and verify the signature with the service account's public key.
 */
function verifySignedUrl(signed: string): { valid: boolean; params: URLSearchParams; url: URL } {
  const url = new URL(signed);
  const params = url.searchParams;
  const signature = params.get("X-Goog-Signature") ?? "";
  const query = [...params.entries()]
    .filter(([key]) => key !== "X-Goog-Signature")
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .sort()
    .join("&");
  // The client signs the host name without the port (real GCS endpoints have none; the emulator's
  // does), so the canonical host header here is the name alone.
  const canonicalRequest = [
    "GET",
    url.pathname,
    query,
    `host:${url.hostname}\n`,
    params.get("X-Goog-SignedHeaders"),
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const scope = (params.get("X-Goog-Credential") ?? "").split("/").slice(1).join("/");
  const stringToSign = [
    "GOOG4-RSA-SHA256",
    params.get("X-Goog-Date"),
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  const valid = verify("RSA-SHA256", Buffer.from(stringToSign), publicKey, Buffer.from(signature, "hex"));
  return { valid, params, url };
}

test("the uploaded object equals the expected CSV byte for byte, with content type and metadata", async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: "csv" });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  const object = `reports/${done.id}.attempt-1.csv`;
  assert.equal(done.csv, {
    bucket: BUCKET,
    object,
    bytes: Buffer.byteLength(AWKWARD_CSV),
    rows: 6,
    link_expires_at: done.csv.link_expires_at,
  });

  const media = await fetch(mediaUrl(object));
  assert.is(media.status, 200);
  const bytes = Buffer.from(await media.arrayBuffer());
  assert.ok(bytes.equals(Buffer.from(AWKWARD_CSV, "utf8")), `got ${JSON.stringify(bytes.toString("utf8"))}`);

  const meta = await request(objectUrl(object));
  assert.is(meta.body.contentType, "text/csv; charset=utf-8");
  assert.is(meta.body.size, String(Buffer.byteLength(AWKWARD_CSV)));
  assert.is(meta.body.metadata.request_id, done.id);
  assert.is(meta.body.metadata.report_name, "csv-awkward");
  assert.is(meta.body.metadata.row_count, "6");
  assert.is(meta.body.metadata.attempt, "1");
  assert.equal(
    JSON.parse(meta.body.metadata.columns),
    awkwardReport.columns.map((c) => c.name),
  );
  assert.equal(await listObjects("incomplete/"), [], "the incomplete upload was removed after the copy");
});

test("every format goes to the bucket: one object each with its content type and digest, downloaded through the API, removed with the request", async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: ["json", "ndjson", "xlsx", "parquet"] });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  const types: Record<string, string> = {
    ndjson: "application/x-ndjson; charset=utf-8",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    parquet: "application/vnd.apache.parquet",
  };
  assert.equal(
    done.files.map((file: { format: string }) => file.format),
    ["ndjson", "xlsx", "parquet"],
  );
  for (const file of done.files) {
    const object = `reports/${done.id}.attempt-1.${file.format}`;
    assert.is(file.object, object);
    assert.is(file.rows, 6);
    assert.ok(file.gcs_link.startsWith("http"), "a signed link");
    const media = Buffer.from(await (await fetch(mediaUrl(object))).arrayBuffer());
    assert.is(media.length, file.bytes);
    assert.is(createHash("sha256").update(media).digest("hex"), file.sha256);
    const meta = await request(objectUrl(object));
    assert.is(meta.body.contentType, types[file.format]);
    assert.is(meta.body.metadata.sha256, file.sha256);
    const download = await fetch(`${service.url}${file.download}`);
    assert.is(download.status, 200);
    assert.is(download.headers.get("content-length"), String(file.bytes));
    assert.is(download.headers.get("repr-digest"), `sha-256=:${Buffer.from(file.sha256, "hex").toString("base64")}:`);
    assert.ok(Buffer.from(await download.arrayBuffer()).equals(media), `${file.format}: the API serves the object's bytes`);
  }
  assert.equal(await listObjects("incomplete/"), []);
  assert.is((await request(`${service.url}/v1/reports/${done.id}`, { method: "DELETE" })).status, 204);
  assert.equal(await listObjects(`reports/${done.id}`), [], "every format's object is removed with its request");
});

test("gcs_link is a V4 signed URL for the object that verifies with the key; /csv redirects to a fresh one", async () => {
  const done = await submitAndWait({ report_name: "csv-awkward", output: "both" });
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.rows.length, 6, "both: rows are paged too");
  const { valid, params, url } = verifySignedUrl(done.gcs_link);
  assert.ok(valid, "signature verifies against the service account's public key");
  assert.is(url.origin, gcs.url, "signed for the configured endpoint");
  assert.is(decodeURIComponent(url.pathname), `/${BUCKET}/${done.csv.object}`);
  assert.is(params.get("X-Goog-Algorithm"), "GOOG4-RSA-SHA256");
  assert.is(params.get("X-Goog-Expires"), String(EXPIRY_S));
  assert.ok(params.get("X-Goog-Credential")!.startsWith(`${CLIENT_EMAIL}/`));
  const expiresAt = Date.parse(done.csv.link_expires_at);
  assert.ok(Math.abs(expiresAt - (Date.now() + EXPIRY_S * 1000)) < 60_000, "expiry reported in the status");
  // Not vacuous: the same check refuses a URL for another object.
  assert.not.ok(verifySignedUrl(done.gcs_link.replace(".csv?", "x.csv?")).valid);
  // The object the URL names is the CSV.
  assert.is(await (await fetch(mediaUrl(done.csv.object))).text(), AWKWARD_CSV);

  const redirect = await fetch(`${service.url}/v1/reports/${done.id}/csv`, { redirect: "manual" });
  assert.is(redirect.status, 303);
  const fresh = redirect.headers.get("location")!;
  assert.ok(verifySignedUrl(fresh).valid);
  assert.is(decodeURIComponent(new URL(fresh).pathname), `/${BUCKET}/${done.csv.object}`);
});

/** Wraps the service's sink to watch the bytes on their way to GCS (the upload itself is real). */
interface Seen {
  writes: number;
  bytes: number;
  maxWrite: number;
  pushback: number;
  /** Bytes the upload has read into its requests (its progress events). */
  uploaded: number;
  /** Most bytes ever handed to the sink but not yet read by the upload. */
  maxAhead: number;
}

/** The counts of the test watching the sink now, if any. */
let watching: Seen | null = null;

function observeSink(inner: CsvSink, current: () => Seen | null): CsvSink {
  const wrapper = Object.create(inner) as CsvSink;
  wrapper.open = async (target) => {
    const upload = await inner.open(target);
    const seen = current();
    if (!seen) return upload;
    upload.stream.on("progress", (progress: { bytesWritten: number }) => {
      seen.uploaded = progress.bytesWritten;
    });
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        seen.writes += 1;
        seen.bytes += chunk.length;
        seen.maxWrite = Math.max(seen.maxWrite, chunk.length);
        seen.maxAhead = Math.max(seen.maxAhead, seen.bytes - seen.uploaded);
        if (upload.stream.write(chunk)) return callback();
        seen.pushback += 1;
        upload.stream.once("drain", () => callback());
      },
      final(callback) {
        upload.stream.end();
        finished(upload.stream, (error) => callback(error ?? null));
      },
      destroy(error, callback) {
        upload.stream.destroy(error ?? undefined);
        callback(error);
      },
    });
    upload.stream.on("error", (error) => stream.destroy(error));
    return { ...upload, stream, commit: upload.commit, abort: upload.abort };
  };
  return wrapper;
}

test(`a ${BULK_ROWS.toLocaleString("en")}-row export streams: bounded writes, backpressure, never far ahead of the upload`, async () => {
  const seen: Seen = { writes: 0, bytes: 0, maxWrite: 0, pushback: 0, uploaded: 0, maxAhead: 0 };
  watching = seen;
  let done: any;
  try {
    done = await submitAndWait({ report_name: "csv-bulk", output: "csv" }, 240);
  } finally {
    watching = null;
  }
  assert.is(done.status, "completed", JSON.stringify(done.error));
  assert.is(done.csv.rows, BULK_ROWS);
  const expectedBytes =
    Buffer.byteLength("n,label,filler\r\n") +
    Array.from({ length: BULK_ROWS }, (_, n) => Buffer.byteLength(bulkLine(n))).reduce((a, b) => a + b, 0);
  assert.is(done.csv.bytes, expectedBytes);
  assert.is(seen.bytes, expectedBytes);

  // Streaming, not buffering: the CSV reached the upload in many bounded writes, and the upload
  // pushed back (so the cursor waited) rather than everything queueing in memory.
  assert.ok(seen.writes >= 200, `${seen.writes} writes`);
  assert.ok(seen.maxWrite <= 1024 * 1024, `largest write ${seen.maxWrite} bytes`);
  assert.ok(seen.pushback > 0, "the upload applied backpressure");
  // The CSV never ran more than about STREAMED_AHEAD_BYTES (1 MiB) ahead of what the upload had
  // read: memory held for the file is bounded, not proportional to the file (56 MB).
  // (Process memory is not asserted: the test MongoDB returns a whole aggregate result in its first
  // batch, ignoring batchSize, so the driver holds every row; real MongoDB sends batches.)
  assert.ok(seen.maxAhead <= STREAMED_AHEAD_BYTES + 256 * 1024, `up to ${seen.maxAhead} bytes ahead of the upload`);
  console.log(
    `  ${BULK_ROWS} rows, ${(expectedBytes / 1e6).toFixed(1)} MB: ${seen.writes} writes (max ${seen.maxWrite} B), ${seen.pushback} waits, at most ${(seen.maxAhead / 1e6).toFixed(2)} MB ahead of the upload`,
  );

  // Spot-check the object: first and last lines.
  const object = await fetch(mediaUrl(done.csv.object));
  const text = await object.text();
  assert.ok(text.startsWith(`n,label,filler\r\n${bulkLine(0)}${bulkLine(1)}`));
  assert.ok(text.endsWith(bulkLine(BULK_ROWS - 1)));
});

test("GCS_UPLOAD_CHUNK_KB: a chunked upload (256 KiB per request) stores the same bytes as the streamed one", async () => {
  const chunked = createGcsSink(
    { bucket: BUCKET, emulatorHost: gcs.url, projectId: "test-project", maxRetries: 1, chunkSizeBytes: 256 * 1024 },
    { linkExpirySeconds: EXPIRY_S },
  );
  const target = { requestId: new ObjectId(), reportName: "chunked", attempt: 1, columns: ["line"] };
  const upload = await chunked.open(target);
  // 1.5 MB in 64 KiB writes: six whole chunks and a short last one.
  const lines = Array.from({ length: 20_000 }, (_, n) => `${String(n).padStart(8, "0")},${"y".repeat(66)}\r\n`);
  const body = Buffer.from(lines.join(""));
  let progressEvents = 0;
  upload.stream.on("progress", () => (progressEvents += 1));
  for (let offset = 0; offset < body.length; offset += 64 * 1024) {
    if (!upload.stream.write(body.subarray(offset, offset + 64 * 1024)))
      await new Promise((resolve) => upload.stream.once("drain", resolve));
  }
  await new Promise<void>((resolve, reject) => {
    finished(upload.stream, (error) => (error ? reject(error) : resolve()));
    upload.stream.end();
  });
  const stored = await upload.commit({ rows: lines.length, bytes: body.length });
  const downloaded = Buffer.from(await (await fetch(mediaUrl(stored.object))).arrayBuffer());
  assert.is(downloaded.length, body.length);
  assert.ok(downloaded.equals(body), "the object holds exactly the bytes written");
  assert.ok(progressEvents >= 6, `the upload read the file in ${progressEvents} steps`);
  assert.equal(await listObjects(`incomplete/${target.requestId.toHexString()}`), [], "the incomplete object was removed");
  assert.ok(await chunked.remove({ ...target, ext: "csv" }));
});

/** A request as an integration can insert it, finished long ago (retention sweeps it), naming another bucket's object. */
const forgedCompleted = (bucket: string) =>
  forgedCompletedRequest(
    "csv-awkward",
    { row_count: 1, columns: ["a"], csv: { sink: "gcs", bucket, object: "secret.txt", bytes: 6, rows: 1 } },
    { _id: new ObjectId(), report_date: new Date("2020-01-01"), finished_at: new Date("2020-01-01") },
  );

test("a document that records another bucket's object as its CSV: the service never signs, serves or deletes it", async () => {
  const OTHER = "other-bucket";
  await gcs.createBucket(OTHER);
  const uploaded = await fetch(`${gcs.url}/upload/storage/v1/b/${OTHER}/o?uploadType=media&name=secret.txt`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "secret",
  });
  assert.ok(uploaded.ok, `uploading the other bucket's object: ${uploaded.status}`);
  const secretExists = async () => (await fetch(`${gcs.url}/storage/v1/b/${OTHER}/o/secret.txt`)).status === 200;
  const requests = service.context.database.requests;
  const forged = forgedCompleted(OTHER);
  await requests.insertOne(forged);
  const id = forged._id.toHexString();
  const csv = await fetch(`${service.url}/v1/reports/${id}/csv`, { redirect: "manual" });
  const location = csv.headers.get("location") ?? "";
  assert.not.ok(location.includes(OTHER) || location.includes("secret.txt"), `never signed: ${csv.status} ${location}`);
  if (csv.status === 303) assert.is(new URL(location).pathname, `/${BUCKET}/reports/${id}.attempt-1.csv`);
  const deleted = await request(`${service.url}/v1/reports/${id}`, { method: "DELETE" });
  assert.ok(deleted.status === 204 || deleted.status === 404, `DELETE: ${deleted.status}`);
  assert.ok(await secretExists(), "DELETE left the other bucket's object");
  await requests.insertOne(forgedCompleted(OTHER));
  const { database, store, csvSink } = service.context;
  assert.ok((await purgeExpired({ database, store, retentionMs: 1000, csvSink })) >= 1, "the forged request itself was purged");
  assert.ok(await secretExists(), "retention left the other bucket's object");
});

test("an export cancelled mid-upload leaves no object, complete-looking or otherwise", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "csv-bulk", output: "csv" });
  const id = submitted.body.id;
  await eventually(async () => ((await get(`${service.url}/v1/reports/${id}`)).body.status === "running" ? true : undefined), 20_000, 10);
  await new Promise((resolve) => setTimeout(resolve, 300)); // some chunks are on their way
  const cancelled = await request(`${service.url}/v1/reports/${id}/cancel`, { method: "POST" });
  assert.is(cancelled.body.status, "cancelled", JSON.stringify(cancelled.body));
  // The worker stops the upload and removes what it wrote; then it is idle again.
  await eventually(async () => (service.worker?.activeJobs === 0 ? true : undefined), 30_000);
  assert.equal(await listObjects(`reports/${id}`), []);
  assert.equal(await listObjects("incomplete/"), []);
});

test("an emulator that refuses the upload (no such bucket): retried, then error with the reason", async () => {
  const csv: CsvConfig = { ...service.context.config.csv, gcs: { ...service.context.config.csv.gcs!, bucket: "no-such-bucket" } };
  const refused = await startTestService(
    { ...mongo, dbName: `${mongo.dbName}_refused` },
    {
      config: { catalogueReloadMs: 0, reuseWindowMs: 0, maxAttempts: 2, csv },
    },
  );
  try {
    refused.context.catalogue.add(awkwardReport);
    await loadAwkward(refused.context.database.db);
    const submitted = await post(`${refused.url}/v1/reports`, { report_name: "csv-awkward", output: "csv" });
    const done = await get(`${refused.url}/v1/reports/${submitted.body.id}?wait=30`);
    assert.is(done.body.status, "error");
    assert.is(done.body.attempts, 2);
    assert.ok(done.body.error.message.includes("gs://no-such-bucket/"), done.body.error.message);
    assert.match(done.body.error.message, /not found|404|bucket/i);
    assert.equal(
      await listObjects(""),
      (await listObjects("")).filter((name) => !name.includes(submitted.body.id)),
      "nothing written for it",
    );
  } finally {
    await refused.close();
  }
});

test("emulator down: the attempt fails, is retried, ends in error with the reason; the worker stays up", async () => {
  await gcs.stop();
  const done = await submitAndWait({ report_name: "csv-awkward", output: "csv" }, 120);
  assert.is(done.status, "error");
  assert.is(done.attempts, 3, "retried up to max_attempts");
  assert.is(done.error.code, "execution");
  assert.ok(done.error.message.includes(`gs://${BUCKET}/reports/${done.id}.attempt-`), done.error.message);
  assert.match(done.error.message, /ECONNREFUSED|connect|socket|fetch failed/i);

  // Back up (an empty emulator on the same address): the same worker serves the next request.
  gcs = await startFakeGcs({ port: gcs.port });
  await gcs.createBucket(BUCKET);
  const next = await submitAndWait({ report_name: "csv-awkward", output: "csv" });
  assert.is(next.status, "completed", JSON.stringify(next.error));
  assert.is(await (await fetch(mediaUrl(next.csv.object))).text(), AWKWARD_CSV);
});

test("GCS configuration is validated at start with clear messages", () => {
  const fails = (env: Record<string, string>, pattern: RegExp) => {
    assert.throws(
      () => loadConfig(env),
      (error: Error) => error instanceof ConfigError && pattern.test(error.message),
      JSON.stringify(env),
    );
  };
  fails({ GCS_BUCKET: "Bad_Bucket!" }, /GCS_BUCKET.*not a bucket name/);
  fails({ GCS_BUCKET: "ok-bucket", GCS_KEY_FILE: "/no/such/key.json" }, /GCS_KEY_FILE.*cannot read/);
  const notAKey = path.join(keyDir, "not-a-key.json");
  writeFileSync(notAKey, JSON.stringify({ hello: "world" }));
  fails({ GCS_BUCKET: "ok-bucket", GCS_KEY_FILE: notAKey }, /not a service-account key/);
  fails({ GCS_BUCKET: "ok-bucket", GCS_UPLOAD_CHUNK_KB: "300" }, /multiple of 256/);
  fails({ GCS_BUCKET: "ok-bucket", CSV_LINK_EXPIRY_S: "604801" }, /CSV_LINK_EXPIRY_S/);
  fails({ GCS_KEY_FILE: notAKey }, /GCS_BUCKET is not/);
  const config = loadConfig({ GCS_BUCKET: "ok-bucket", STORAGE_EMULATOR_HOST: "localhost:4443", CSV_LINK_EXPIRY_S: "60" });
  assert.equal(config.csv.gcs, {
    bucket: "ok-bucket",
    emulatorHost: "http://localhost:4443",
    maxRetries: 3,
    chunkSizeBytes: 0,
  });
  assert.is(loadConfig({ GCS_BUCKET: "ok-bucket", GCS_UPLOAD_CHUNK_KB: "512" }).csv.gcs!.chunkSizeBytes, 512 * 1024);
  assert.is(config.csv.linkExpirySeconds, 60);
  assert.is(
    loadConfig({ GCS_BUCKET: "b-1", STORAGE_EMULATOR_HOST: "http://gcs:4443/storage/v1/" }).csv.gcs!.emulatorHost,
    "http://gcs:4443",
  );
});

test.run();
