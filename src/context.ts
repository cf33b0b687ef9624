/**
 * Everything a process (API, worker, or both) shares: config, logger, one MongoDB client, the job
 * store, the report catalogue and the one change stream. Opening it is the start-up sequence;
 * closing it is the shutdown sequence.
 */
import { loadConfig, requireMongoUri, type Config } from "./config.ts";
import { hostname } from "node:os";
import process from "node:process";
import { connect, type Database } from "./db.ts";
import { prepareIndexes, type PreparedIndexes } from "./indexes.ts";
import { createLogger, type Logger } from "./log.ts";
import { RequestEvents, type StreamFilter } from "./requests/events.ts";
import { loadRequestSeal, sealExisting } from "./requests/seal.ts";
import { RequestStore } from "./requests/store.ts";
import { DefinitionVersions } from "./reports/data-defined/versions.ts";
import { definitionPolicy } from "./reports/data-defined/document.ts";
import { LiveCatalogue } from "./reports/live.ts";
import { DataIndexKeeper } from "./reports/data-indexes.ts";
import { ReportRegistry } from "./reports/registry.ts";
import { openCsvSink } from "./results/sinks/open.ts";
import type { CsvSink } from "./results/sinks/sink.ts";
import { ScheduleStore } from "./schedules/store.ts";
import { COLLECTIONS } from "./db.ts";
import { Metrics } from "./metrics/metrics.ts";
import { DistributedLock, type LockDocument } from "./worker/lock.ts";

export interface AppContext {
  config: Config;
  log: Logger;
  database: Database;
  store: RequestStore;
  schedules: ScheduleStore;
  catalogue: ReportRegistry;
  /** Keeps `catalogue` current: re-reads report modules and report_definitions. */
  catalogueLoader: LiveCatalogue;
  /** The service's indexes: `built` settles when a build this process took on has ended (see indexes.ts). */
  indexes: PreparedIndexes;
  /** Creates (or lists, with CREATE_DATA_INDEXES=false) the indexes reports declare on the data. */
  dataIndexes: DataIndexKeeper;
  /** Data-defined reports with their versions: what the definition routes write through. */
  definitionVersions: DefinitionVersions;
  events: RequestEvents;
  /** This process's Prometheus series (served by the API's /metrics, or a worker's METRICS_PORT). */
  metrics: Metrics;
  /** Where CSV output goes: a GCS bucket, or a local directory when none is configured. */
  csvSink: CsvSink;
  close(): Promise<void>;
}

/**
 * `watch: false` leaves the change stream closed (listeners subscribe but hear nothing): for
 * measuring the sweep alone in benchmarks.
 */
export async function openContext(options: {
  config?: Config;
  log?: Logger;
  component: string;
  watch?: boolean;
  /** The changes this process's change stream carries (every status change when absent; see RequestEvents). */
  eventFilter?: StreamFilter;
}): Promise<AppContext> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? createLogger({ component: options.component });
  const database = await connect(requireMongoUri(config), config.dbName, `mongo-reports-${options.component}`);
  try {
    // Who builds missing indexes (one process, by lock): this process, by host, pid and part.
    const owner = `${hostname()}:${process.pid}:${options.component}:${Math.random().toString(36).slice(2, 8)}`;
    const indexes = await prepareIndexes(database, { owner, log: log.child({ part: "indexes" }) });
    const csvSink = await openCsvSink(config.csv);
    const catalogue = new ReportRegistry();
    const dataIndexes = new DataIndexKeeper({
      db: database.db,
      create: config.createDataIndexes,
      log: log.child({ part: "data_indexes" }),
      // One builder at a time across processes; a long build keeps it for up to 30 min.
      lock: new DistributedLock(database.db.collection<LockDocument>(COLLECTIONS.locks), "data_indexes", owner, 30 * 60_000),
    });
    const definitions = database.db.collection(COLLECTIONS.definitions);
    const definitionVersions = new DefinitionVersions(
      definitions,
      database.db.collection(COLLECTIONS.definitionVersions),
      definitionPolicy(config),
    );
    const catalogueLoader = new LiveCatalogue(catalogue, {
      definitions,
      versions: definitionVersions,
      extraDirs: config.reportsDirs,
      reloadMs: config.catalogueReloadMs,
      log: log.child({ part: "catalogue" }),
      // In the background: a first build on a large collection must not hold up start-up.
      onChange: (reports) => void dataIndexes.ensure(reports),
    });
    await catalogueLoader.start();
    const { seal, created } = await loadRequestSeal(database.db.collection(COLLECTIONS.keys));
    // The first process with a seal key seals the requests written before requests were sealed.
    if (created) log.info("requests.sealed_existing", { requests: await sealExisting(database.requests, seal) });
    const store = new RequestStore(database.requests, seal);
    const events = new RequestEvents(database.requests, log.child({ part: "events" }), options.eventFilter);
    const metrics = new Metrics({ knownReport: (name) => catalogue.get(name) !== undefined });
    events.subscribe({ resync: () => metrics.streamReopens.inc() });
    if (options.watch !== false) await events.start();
    return {
      config,
      log,
      database,
      store,
      schedules: new ScheduleStore(database.schedules),
      catalogue,
      catalogueLoader,
      indexes,
      dataIndexes,
      definitionVersions,
      events,
      metrics,
      csvSink,
      close: async () => {
        catalogueLoader.close();
        await events.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
