/**
 * One conformance test for every CSV sink (src/results/sinks/sink.ts): the local directory, and
 * GCS against fake-gcs-server. A new sink is added to SINKS and must pass the same cases.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
import { LocalCsvSink } from "../../src/results/sinks/local.ts";
import { createGcsSink } from "../../src/results/sinks/gcs.ts";
import { ObjectId } from "mongodb";
import { storedFileName, type StoredFile } from "../../src/results/locations.ts";
import { recordedSinkKind, type CsvSink, type CsvTarget } from "../../src/results/sinks/sink.ts";
import { startFakeGcs, type FakeGcs } from "../support/gcs.ts";

interface SinkUnderTest {
  sink: CsvSink;
  /** Names of every object or file the sink holds now (final and incomplete). */
  names(): Promise<string[]>;
}

let dir: string;
let gcs: FakeGcs;
const BUCKET = "conformance";
const SINKS: Record<string, () => Promise<SinkUnderTest>> = {
  local: async () => {
    const { readdir } = await import("node:fs/promises");
    const sink = new LocalCsvSink(dir);
    return {
      sink,
      names: async () => (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name),
    };
  },
  gcs: async () => {
    const sink = createGcsSink(
      { bucket: BUCKET, emulatorHost: gcs.url, projectId: "test", maxRetries: 0, chunkSizeBytes: 256 * 1024 },
      { linkExpirySeconds: 60 },
    );
    const { Storage } = await import("@google-cloud/storage");
    const storage = new Storage({ apiEndpoint: gcs.url, projectId: "test" });
    (storage as unknown as { baseUrl: string }).baseUrl = `${gcs.url}/storage/v1`;
    return { sink, names: async () => (await storage.bucket(BUCKET).getFiles())[0].map((f) => path.basename(f.name)) };
  },
};

const test = suite("sinks");

test.before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "sinks-"));
  gcs = await startFakeGcs();
  await gcs.createBucket(BUCKET);
});

test.after(async () => {
  await gcs?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const target = (): CsvTarget => ({ requestId: new ObjectId(), reportName: "conformance", attempt: 1, columns: ["a", "b"] });
const fileOf = (t: CsvTarget): StoredFile => ({ requestId: t.requestId, attempt: t.attempt, ext: "csv" });

async function write(sink: CsvSink, t: CsvTarget, text: string) {
  const upload = await sink.open(t);
  await new Promise<void>((resolve, reject) => {
    upload.stream.on("error", reject);
    upload.stream.end(Buffer.from(text, "utf8"), () => resolve());
  });
  return upload;
}

async function text(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

const CSV = 'a,b\r\n1,é\r\n2,"x,y"\r\n';

for (const [kind, make] of Object.entries(SINKS)) {
  test(`${kind}: a committed file reads back byte for byte; its record names the sink, the final name, bytes and rows`, async () => {
    const { sink } = await make();
    assert.is(sink.kind, kind);
    const t = target();
    const upload = await write(sink, t, CSV);
    const stored = await upload.commit({ rows: 2, bytes: Buffer.byteLength(CSV) });
    assert.is(stored.sink, kind);
    assert.is(stored.object, storedFileName(t.requestId, 1, "csv"));
    assert.is(stored.object, `reports/${t.requestId.toHexString()}.attempt-1.csv`);
    assert.is(stored.bytes, Buffer.byteLength(CSV));
    assert.is(stored.rows, 2);
    assert.is(recordedSinkKind(stored), kind, "a stored record names its sink");
    const file = await sink.read(fileOf(t));
    assert.ok(file);
    assert.is(file.bytes, Buffer.byteLength(CSV));
    assert.is(await text(file.stream), CSV);
    if (sink.link) assert.ok((await sink.link(fileOf(t))).url.endsWith(`${BUCKET}/${stored.object}`), "a link names the configured bucket");
  });

  test(`${kind}: an aborted upload leaves nothing, under the final name or elsewhere`, async () => {
    const sut = await make();
    const t = target();
    const before = await sut.names();
    const upload = await write(sut.sink, t, CSV);
    await upload.abort();
    assert.equal(await sut.names(), before);
    assert.is(await sut.sink.read(fileOf(t)), null);
  });

  test(`${kind}: remove deletes the file once (then reports nothing removed); a removed file reads as null`, async () => {
    const { sink } = await make();
    const t = target();
    const upload = await write(sink, t, CSV);
    await upload.commit({ rows: 2, bytes: Buffer.byteLength(CSV) });
    assert.is(await sink.remove(fileOf(t)), true);
    assert.is(await sink.read(fileOf(t)), null);
    assert.is(await sink.remove(fileOf(t)), false);
  });
}

test("records written before the sink kind was stored are read as the right sink", () => {
  assert.is(recordedSinkKind({ bucket: "b" }), "gcs");
  assert.is(recordedSinkKind({}), "local");
});

test.run();
