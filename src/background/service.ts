/**
 * What every background service of a worker process is (the job worker, the webhook dispatcher,
 * the retention sweeper, the schedule firer): started once, stopped once. A service that is
 * switched off by its configuration starts as a no-op, so the process composes them all the same
 * way (src/main/background.ts).
 */
export interface BackgroundService {
  /** Begins its work in the background; returns at once. */
  start(): void;
  /** Stops taking new work and resolves once the work in hand has ended (each service says how long that may be). */
  stop(): Promise<void>;
}
