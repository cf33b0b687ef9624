/**
 * Runs the real service in the test process: context (driver, change stream), API on a random
 * port and optionally an in-process worker, all against the test database.
 */
import { loadConfig, type Config } from "../../src/config.ts";
import { openContext, type AppContext } from "../../src/context.ts";
import process from "node:process";
import { createLogger, silentLogger, type Logger } from "../../src/log.ts";
import { startService } from "../../src/main/service.ts";
import type { ApiApp } from "../../src/api/app.ts";
import type { Worker } from "../../src/worker/worker.ts";
import type { TestMongo } from "./mongo.ts";
import { started } from "./started.ts";

export interface TestService {
  context: AppContext;
  url: string;
  api: ApiApp;
  worker: Worker | null;
  close(): Promise<void>;
}

/** Config for tests: short leases and sweeps so recovery paths finish in seconds. */
export function testConfig(mongo: TestMongo, overrides: Partial<Config> = {}): Config {
  return loadConfig(
    { MONGODB_URI: mongo.uri, MONGODB_DB: mongo.dbName, PORT: "0", LEASE_MS: "3000", SWEEP_MS: "500", RETRY_BASE_MS: "50" },
    overrides,
  );
}

export async function startTestService(
  mongo: TestMongo,
  options: {
    worker?: boolean;
    config?: Partial<Config>;
    log?: Logger;
    /** Adjusts the context before anything starts (background services copy what they need at start). */
    prepare?: (context: AppContext) => void;
  } = {},
): Promise<TestService> {
  const config = testConfig(mongo, options.config);
  // TEST_LOG=debug (or info…) shows the service's own log lines while debugging a test.
  const log = options.log ?? (process.env.TEST_LOG ? createLogger({ component: "test" }, process.env.TEST_LOG as "debug") : silentLogger);
  const context = await openContext({ component: "test", config, log });
  options.prepare?.(context);
  let running: Awaited<ReturnType<typeof startService>>;
  try {
    running = await startService(context, { port: 0, host: "127.0.0.1", worker: options.worker });
  } catch (error) {
    // The driver's connection and change stream would keep the test process alive.
    await context.close();
    throw error;
  }
  const close = async () => {
    await running.close();
    await context.close();
  };
  const stopped = started(`service ${running.url}`, close);
  return {
    context,
    url: running.url,
    api: running.api,
    worker: running.worker,
    close: async () => {
      stopped();
      await close();
    },
  };
}
