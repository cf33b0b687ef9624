/**
 * Benchmark-only worker process: our Worker exactly as workers/node.ts runs it, but with no change
 * stream, so it is woken only by its periodic sweep (SWEEP_MS) and by its own finished jobs. This
 * is how "ours with the sweep alone" is measured without a product switch.
 */
import process from "node:process";
import { loadConfig, requireMongoUri } from "../../src/config.ts";
import { connect, ensureIndexes, COLLECTIONS } from "../../src/db.ts";
import { createLogger } from "../../src/log.ts";
import type { RequestEvents } from "../../src/requests/events.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { LiveCatalogue } from "../../src/reports/live.ts";
import { ReportRegistry } from "../../src/reports/registry.ts";
import { Worker } from "../../src/worker/worker.ts";

const config = loadConfig();
const log = createLogger({ component: "worker", runtime: "node", mode: "sweep-only", pid: process.pid });
const database = await connect(requireMongoUri(config), config.dbName, "mongo-reports-bench-sweep-only");
await ensureIndexes(database);
const catalogue = new ReportRegistry();
const catalogueLoader = new LiveCatalogue(catalogue, {
  definitions: database.db.collection(COLLECTIONS.definitions),
  extraDirs: config.reportsDirs,
  reloadMs: config.catalogueReloadMs,
  log: log.child({ part: "catalogue" }),
});
await catalogueLoader.start();
// No stream: the worker subscribes to this and never hears anything.
const events = { subscribe: () => () => {} } as unknown as RequestEvents;
const worker = new Worker({ config, database, store: new RequestStore(database.requests), catalogue, events, log });
worker.start();

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void worker
    .stop()
    .then(async () => {
      catalogueLoader.close();
      await database.close();
    })
    .finally(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
