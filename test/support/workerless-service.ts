/**
 * The set-up of the suites that follow requests as they change (the change stream, server-sent
 * events): a fresh test MongoDB, the service without a worker of its own, serving the progress and
 * gated fixture reports, `movies` holding plain titles, and a worker that a test starts when it is
 * ready to see every transition live, stopped after each test.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Test } from "uvu";
import type { Config } from "../../src/config.ts";
import { Worker, type WorkerDeps } from "../../src/worker/worker.ts";
import { GATED_REPORTS } from "./gate.ts";
import { startTestMongo, type TestMongo } from "./mongo.ts";
import { startTestService, type TestService } from "./service.ts";

const PROGRESS_REPORTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "progress-reports");

export interface WorkerlessService {
  /** Set once the suite's `before` hook ran. */
  readonly mongo: TestMongo;
  readonly service: TestService;
  /** The worker a test started, until the test ends. */
  readonly worker: Worker | null;
  /** Starts a worker on the service's context (`deps` replace parts of it, a logger say). */
  startWorker(deps?: Partial<WorkerDeps>): Worker;
}

/** Registers the suite's hooks; `movies` plain titles are inserted (all every-movie reads, faster than the fixture). */
export function useWorkerlessService(test: Test, options: { label: string; movies: number; config: Partial<Config> }): WorkerlessService {
  let mongo: TestMongo | undefined;
  let service: TestService | undefined;
  let worker: Worker | null = null;
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the suite's service is not started yet (used outside a test?)");
    return value;
  };

  test.before(async () => {
    mongo = await startTestMongo(options.label);
    service = await startTestService(mongo, {
      worker: false,
      config: { reportsDirs: [PROGRESS_REPORTS, GATED_REPORTS], reuseWindowMs: 0, ...options.config },
    });
    await service.context.database.db
      .collection("movies")
      .insertMany(Array.from({ length: options.movies }, (_, i) => ({ _id: i as any, title: `movie ${i}` })));
  });

  test.after.each(async () => {
    await worker?.stop();
    worker = null;
  });

  test.after(async () => {
    await service?.close();
    await mongo?.stop();
  });

  return {
    get mongo() {
      return started(mongo);
    },
    get service() {
      return started(service);
    },
    get worker() {
      return worker;
    },
    startWorker(deps = {}) {
      worker = new Worker({ ...started(service).context, ...deps });
      worker.start();
      return worker;
    },
  };
}
