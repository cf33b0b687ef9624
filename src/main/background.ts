/**
 * The composition root of the background work: the four services a worker process runs beside
 * each other, built from one context, started in one order and stopped in one order. The worker
 * process (main/worker.ts) and the all-in-one service (main/service.ts) both run exactly this.
 */
import type { BackgroundService } from "../background/service.ts";
import type { AppContext } from "../context.ts";
import { COLLECTIONS } from "../db.ts";
import { ScheduleFirer, SCHEDULE_LOCK_MS } from "../schedules/firer.ts";
import { DistributedLock, type LockDocument } from "../worker/lock.ts";
import { WebhookDispatcher } from "../webhooks/dispatcher.ts";
import { RetentionSweeper } from "../worker/retention.ts";
import { Worker } from "../worker/worker.ts";

export interface Background {
  worker: Worker;
  /** Stops the timers first (schedules, retention), then the worker (releasing its jobs), then webhooks (so deliveries of jobs that ended meanwhile still start). */
  stop(): Promise<void>;
}

export interface BackgroundOptions {
  /** Called once claims have failed for UNREACHABLE_EXIT_MS (see Worker). */
  onUnreachable?: (failingForMs: number) => void;
  /** With WORKER_MAX_JOBS: called once the worker has run its jobs, or found none (see Worker). */
  onDone?: () => void;
  /** The worker's lease owner, when the process chose it first (its change stream leaves that owner's claims out). */
  workerOwner?: string;
}

export function startBackground(context: AppContext, options: BackgroundOptions = {}): Background {
  const { config, log } = context;
  // Webhooks go out wherever jobs run: a worker that finishes a request with a callback wakes this one.
  const webhooks = new WebhookDispatcher({ ...context, requests: context.database.requests });
  const worker = new Worker(
    { ...context, onDeliveryDue: () => webhooks.wake(), owner: options.workerOwner },
    options.onUnreachable,
    options.onDone,
  );
  // One process at a time purges (see worker/retention.ts); the lock names this worker.
  const retention = new RetentionSweeper({
    database: context.database,
    store: context.store,
    csvSink: context.csvSink,
    retentionMs: config.retentionMs,
    sweepMs: config.retentionSweepMs,
    owner: worker.owner,
    log: log.child({ part: "retention" }),
  });
  const schedules = new ScheduleFirer({
    schedules: context.schedules,
    requests: context.store,
    catalogue: context.catalogue,
    refreshCatalogue: () => context.catalogueLoader.refresh(),
    pollMs: config.schedulePollMs,
    maxQueuedPerOwner: config.maxQueuedPerOwner,
    log: log.child({ part: "schedules" }),
    // One firer at a time (see schedules/firer.ts); the lock names this worker.
    lock: new DistributedLock(context.database.db.collection<LockDocument>(COLLECTIONS.locks), "schedules", worker.owner, SCHEDULE_LOCK_MS),
  });
  // A worker with WORKER_MAX_JOBS (a Kubernetes Job) runs its jobs and their webhooks, and leaves the
  // pool-wide chores to the resident workers: a lock it took would outlive its short life.
  const services: BackgroundService[] = config.workerMaxJobs > 0 ? [worker, webhooks] : [worker, webhooks, retention, schedules];
  for (const service of services) service.start();
  return {
    worker,
    stop: async () => {
      await Promise.all([schedules.stop(), retention.stop()]);
      await worker.stop();
      await webhooks.stop();
    },
  };
}
