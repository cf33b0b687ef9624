/**
 * Everything a process (API, worker, or both) shares: config, logger, one MongoDB client, the job
 * store, the report catalogue and the one change stream. Opening it is the start-up sequence;
 * closing it is the shutdown sequence.
 */
import { loadConfig, requireMongoUri, type Config } from "./config.ts";
import { connect, ensureIndexes, type Database } from "./db.ts";
import { createLogger, type Logger } from "./log.ts";
import { RequestEvents } from "./requests/events.ts";
import { RequestStore } from "./requests/store.ts";
import { createRegistry, type ReportRegistry } from "./reports/registry.ts";

export interface AppContext {
  config: Config;
  log: Logger;
  database: Database;
  store: RequestStore;
  catalogue: ReportRegistry;
  events: RequestEvents;
  close(): Promise<void>;
}

export async function openContext(options: { config?: Config; log?: Logger; component: string }): Promise<AppContext> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? createLogger({ component: options.component });
  const database = await connect(requireMongoUri(config), config.dbName, `mongo-reports-${options.component}`);
  try {
    await ensureIndexes(database);
    const catalogue = await createRegistry();
    const store = new RequestStore(database.requests);
    const events = new RequestEvents(database.requests, log.child({ part: "events" }));
    await events.start();
    return {
      config,
      log,
      database,
      store,
      catalogue,
      events,
      close: async () => {
        await events.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
