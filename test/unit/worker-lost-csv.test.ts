/**
 * An attempt that wrote its CSV but could not record its result (its lease was lost, or the
 * request cancelled or deleted meanwhile) removes its own file, without a database: the store,
 * the collection read and the sink are stand-ins (the sinks themselves are tested in
 * test/integration/csv-sinks.test.ts).
 */
import { suite } from "../support/suite.ts";
import { claimedBatch, quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { Writable } from "node:stream";
import { ObjectId } from "mongodb";
import { object } from "superstruct";
import { silentLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import { storedFileName, type StoredFile } from "../../src/results/locations.ts";
import type { CsvTarget, StoredCsv } from "../../src/results/sinks/sink.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker: a result it could not record");

test("each attempt commits under its own name", () => {
  const id = new ObjectId();
  assert.is.not(storedFileName(id, 1, "csv"), storedFileName(id, 2, "csv"));
});

test("when complete() finds the lease gone, the attempt's CSV file is removed through the sink", async () => {
  const doc = { _id: new ObjectId(), status: "running", attempts: 1, report_name: "r", output: "csv", params: {} };
  let claimed = false;
  let settled: () => void = () => {};
  const completeRefused = new Promise<void>((resolve) => (settled = resolve));
  const store = {
    seal: { verify: () => true }, // a request the API accepted
    claimExpired: async () => null,
    claimPendingBatch: async (_owner: string, _leaseMs: number, limit: number) =>
      claimedBatch(claimed ? [] : ((claimed = true), [doc as unknown as RequestDocument]), limit),
    fillDefaults: async () => {},
    renew: async () => true,
    complete: async () => {
      setImmediate(settled);
      return false; // retaken, cancelled or deleted meanwhile
    },
  };
  const committed: StoredCsv[] = [];
  const removed: StoredFile[] = [];
  const name = (target: CsvTarget) => storedFileName(target.requestId, target.attempt, "csv");
  const csvSink = {
    kind: "local" as const,
    describe: name,
    open: async (target: CsvTarget) => ({
      where: name(target),
      stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
      commit: async (summary: { rows: number; bytes: number }) => {
        const stored: StoredCsv = { sink: "local", object: name(target), ...summary };
        committed.push(stored);
        return stored;
      },
      abort: async () => {},
    }),
    read: async () => null,
    remove: async (file: StoredFile) => (removed.push(file), true),
  };
  const report = { name: "r", collection: "c", params: object({}), columns: [{ name: "a" }], pipeline: () => [] };
  const catalogue = { get: () => report, require: () => report };
  async function* rows() {
    yield { a: 1 };
  }
  const cursor = Object.assign(rows(), { close: async () => {} });
  const database = {
    db: { collection: () => ({ aggregate: () => cursor }) },
    results: { deleteMany: async () => ({ deletedCount: 0 }) },
  };
  const config = quietWorkerConfig({ workerConcurrency: 1, rowsPerChunk: 100, reportMaxTimeMs: 60_000 });
  const events = silentEvents;
  const deps = { config, store, catalogue, database, csvSink, events, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(deps);
  worker.start();
  await completeRefused;
  await worker.stop();
  assert.is(committed.length, 1, "the attempt committed its file");
  assert.equal(
    removed.map((file) => storedFileName(file.requestId, file.attempt, file.ext)),
    committed.map((stored) => stored.object),
    "and removed it once its result could not be recorded",
  );
});

test.run();
