/**
 * A worker meeting a report its catalogue does not know yet, without a database: the store and
 * the catalogue are stand-ins. The report appears only once the worker reloads its catalogue, as
 * one defined through the API since this process last reloaded would.
 */
import { suite } from "../support/suite.ts";
import { claimedBatch, quietWorkerConfig, silentEvents } from "../support/worker-deps.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { silentLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import { UnknownReportError } from "../../src/reports/registry.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";

const test = suite("worker catalogue reload");

test("a report unknown at claim time is looked up again after one catalogue reload, not failed as unknown_report", async () => {
  // max_attempts 1 and a second attempt: once the report is found, the run stops before any query.
  const doc = { _id: new ObjectId(), status: "running", attempts: 2, report_name: "defined-just-now", max_attempts: 1 };
  let claimed = false;
  const failures: { code: string }[] = [];
  let failed: () => void = () => {};
  const failedOnce = new Promise<void>((resolve) => (failed = resolve));
  const store = {
    seal: { verify: () => true }, // a request the API accepted
    claimExpired: async () => null,
    claimPendingBatch: async (_owner: string, _leaseMs: number, limit: number) =>
      claimedBatch(claimed ? [] : ((claimed = true), [doc as unknown as RequestDocument]), limit),
    fail: async (_claim: unknown, error: { code: string }) => {
      failures.push(error);
      failed();
    },
  };
  let known = false;
  let reloads = 0;
  const report = { name: "defined-just-now", maxAttempts: 1 };
  const catalogue = {
    get: (name: string) => (known && name === report.name ? report : undefined),
    require: (name: string) => {
      if (known && name === report.name) return report;
      throw new UnknownReportError(name, []);
    },
  };
  const catalogueLoader = {
    reloadAfterWrite: async () => {
      reloads += 1;
      known = true;
    },
  };
  const config = quietWorkerConfig({ workerConcurrency: 1 });
  const database = { results: { deleteMany: async () => ({ deletedCount: 0 }) } };
  const events = silentEvents;
  const deps = { config, store, catalogue, catalogueLoader, database, events, log: silentLogger } as unknown as WorkerDeps;
  const worker = new Worker(deps);
  worker.start();
  await failedOnce;
  await worker.stop();
  assert.is(reloads, 1);
  assert.is(failures.length, 1);
  assert.is.not(failures[0].code, "unknown_report", "the reloaded catalogue knows the report");
});

test.run();
