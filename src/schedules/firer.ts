/**
 * Fires due schedules: each tick becomes one request in `report_requests`, however many worker
 * processes run this loop. One process fires: the holder of the `schedules` lock (report_locks,
 * worker/lock.ts), renewed every pass; the others look at the lock (a read) each poll and take
 * over when it lapses, within SCHEDULE_LOCK_MS, well inside the misfire grace, so a holder's death
 * delays ticks but does not turn them into missed ones. (Without the lock every process read
 * every due schedule and tried every tick: 50 workers meant 50 inserts, 49 failing, per tick.)
 * Behind the lock, the request's unique `tick_key` (tick-key.ts) keeps a tick to one request even
 * when two processes fire at once (a holder whose lock lapsed mid-pass). The schedule is then
 * advanced past the tick by a write conditional on the tick read, so a process killed between the
 * insert and the advance leaves a schedule that the next holder fires again, finds the request
 * already there (duplicate key), and advances: no tick is lost or doubled.
 *
 * Ticks that passed while no process ran are fired once, as the latest of them, and the run says
 * how many were missed. A schedule whose report is gone or whose body no longer validates pauses
 * itself with the reason instead of creating failing requests every tick.
 *
 * Polls rather than watches: the process already holds its one change stream (requests), and the
 * loop sleeps exactly until the earliest due tick (at most `pollMs`), so a tick fires on time.
 */
import type { BackgroundService } from "../background/service.ts";
import type { Logger } from "../log.ts";
import { OUTPUTS } from "../requests/document.ts";
import type { RequestStore } from "../requests/store.ts";
import { parseSubmission, UnknownReportSubmission, type Submission } from "../requests/submission.ts";
import type { ReportCatalogue } from "../reports/registry.ts";
import { ValidationError } from "../reports/validation.ts";
import type { PauseReason, ScheduleDocument } from "./document.ts";
import type { ScheduleStore } from "./store.ts";
import { tickKey } from "./tick-key.ts";
import { ObjectId } from "mongodb";
import { cronProblems, dueTick } from "./times.ts";

export interface ScheduleFirerDeps {
  schedules: ScheduleStore;
  requests: RequestStore;
  catalogue: ReportCatalogue;
  /** Re-reads the catalogue: a report added a moment ago may not have reached this process yet. */
  refreshCatalogue?: () => Promise<void>;
  /** Longest sleep between looks for due schedules (new or changed schedules are seen this late); 0: this process fires none. */
  pollMs: number;
  log: Logger;
  /** MAX_QUEUED_PER_OWNER: a tick of an owner with this many requests pending or running is skipped (0 or absent: no cap). */
  maxQueuedPerOwner?: number;
  /** One firer at a time (see above); without it every process fires and `tick_key` alone keeps ticks single. */
  lock?: FiringLock;
}

/** The part of DistributedLock the firer uses. */
export interface FiringLock {
  heldByAnother(now?: Date): Promise<boolean>;
  acquire(now?: Date): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * How long the firing lock lasts without a renewal: half the misfire grace, so ticks due while a
 * dead holder's lock runs out are still fired as themselves. The holder passes at least every
 * third of it.
 */
export const SCHEDULE_LOCK_MS = 5_000;

/** Schedules handled per pass; a longer backlog continues at once in the next pass. */
const BATCH = 100;

/**
 * How late a tick may be and still be fired as itself. Later than this, no worker was running at
 * its time, and the due ticks collapse into one firing (times.ts dueTick).
 */
export const MISFIRE_GRACE_MS = 10_000;

export class ScheduleFirer implements BackgroundService {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private pass: Promise<void> | undefined;
  /** Whether this process held the firing lock at its last look (undefined: not looked yet). */
  private holding: boolean | undefined;

  constructor(private readonly deps: ScheduleFirerDeps) {}

  start(): void {
    if (this.deps.pollMs <= 0) return;
    this.stopped = false;
    this.deps.log.info("schedules.started", { poll_ms: this.deps.pollMs });
    this.loop();
  }

  /** Stops looking; a firing in progress finishes (it is two short writes); the lock is given up for another process. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
    if (this.holding) await this.deps.lock?.release().catch(() => {});
    this.holding = undefined;
  }

  /** Whether this process fires now: the lock is free, lapsed or ours (taken or renewed). */
  private async holdLock(): Promise<boolean> {
    const { lock, log } = this.deps;
    if (!lock) return true;
    const now = new Date();
    const held = !(await lock.heldByAnother(now)) && (await lock.acquire(now));
    if (held !== this.holding) log.info(held ? "schedules.firing" : "schedules.firing_elsewhere", {});
    this.holding = held;
    return held;
  }

  private loop(): void {
    if (this.stopped) return;
    this.pass = this.runPass()
      .catch((error) => {
        // A database outage must not stop the loop: the next pass catches up (missed ticks collapse).
        this.deps.log.warn("schedules.pass_failed", { error });
        return this.deps.pollMs;
      })
      .then((sleepMs) => {
        this.pass = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.loop(), sleepMs);
      });
  }

  /** Fires what is due; returns how long to sleep before the next pass. */
  private async runPass(): Promise<number> {
    const { schedules, pollMs, lock } = this.deps;
    if (!(await this.holdLock())) return pollMs;
    const fired = await this.fireDue(new Date());
    if (fired === BATCH) return 0;
    const earliest = await schedules.earliestDue();
    const untilDue = earliest ? earliest.getTime() - Date.now() : pollMs;
    // The holder comes back before its lock runs out, to renew it.
    const longest = lock ? Math.min(pollMs, SCHEDULE_LOCK_MS / 3) : pollMs;
    return Math.max(0, Math.min(longest, untilDue));
  }

  /** One pass over the due schedules; returns how many it handled. */
  async fireDue(now: Date): Promise<number> {
    const due = await this.deps.schedules.due(now, BATCH);
    for (const schedule of due) {
      if (this.stopped) break;
      try {
        await this.fire(schedule, now);
      } catch (error) {
        // One schedule failing (a write refused, a lost connection) must not hold up the others.
        this.deps.log.warn("schedule.fire_failed", { schedule_id: schedule._id, error });
      }
    }
    return due.length;
  }

  private async fire(schedule: ScheduleDocument, now: Date): Promise<void> {
    const { schedules, requests, log } = this.deps;
    const due = schedule.next_run_at;
    if (!due) return;
    // A pattern edited straight in MongoDB into something croner refuses: pause, do not retry every pass.
    const cronErrors = cronProblems(schedule, now);
    if (cronErrors.length > 0) {
      const reason = { code: "invalid_schedule", message: "the cron pattern or timezone is not valid", errors: cronErrors, at: now };
      if (await schedules.pauseItself(schedule, due, reason))
        log.warn("schedule.paused_itself", { schedule_id: schedule._id, reason: reason.code });
      return;
    }
    const step = dueTick(schedule, due, now, MISFIRE_GRACE_MS);
    if (!step) return;
    const submission = await this.validate(schedule, due, now);
    if (!submission) return;
    const skipped = await this.skipReason(schedule);
    if (skipped) {
      const advanced = await schedules.skip(schedule, due, step.next, { tick: step.tick, at: now, ...skipped });
      log.info("schedule.skipped", { schedule_id: schedule._id, tick: step.tick, reason: skipped.reason, advanced });
      return;
    }
    const key = tickKey(schedule._id, step.tick);
    let id = new ObjectId();
    let created = true;
    try {
      await requests.submit(
        {
          report_name: submission.report_name,
          params: submission.params,
          output: submission.output,
          owner: schedule.owner ?? null,
          ...(schedule.callback_url ? { callback_url: schedule.callback_url } : {}),
          schedule_id: schedule._id,
          scheduled_for: step.tick,
          tick_key: key,
        },
        now,
        id,
      );
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
      // Another process fired this tick first (the unique tick_key): its request is the run.
      created = false;
      id = (await requests.idOfTick(key)) ?? id;
    }
    const missed = step.missed
      ? { count: step.missed.count, at_least: step.missed.atLeast, first: step.missed.first, last: step.missed.last }
      : undefined;
    const advanced = await schedules.advance(schedule, due, step.next, {
      tick: step.tick,
      request_id: id,
      fired_at: now,
      ...(missed ? { missed_ticks: missed } : {}),
    });
    const fields = { schedule_id: schedule._id, tick: step.tick, request_id: id, advanced };
    if (created) log.info("schedule.fired", { ...fields, ...(missed ? { missed_ticks: missed.count } : {}) });
    else log.debug("schedule.tick_taken", fields);
  }

  /**
   * Why this tick must not fire (null: it may): a schedule never has two runs queued at once, so a
   * slow report cannot pile up behind its own schedule; and its ticks meet the owner's queue cap
   * as submits do.
   */
  private async skipReason(schedule: ScheduleDocument): Promise<{ reason: string; message: string } | null> {
    const { requests, maxQueuedPerOwner = 0 } = this.deps;
    const previous = schedule.runs.at(-1);
    if (previous) {
      const status = (await requests.statuses([previous.request_id])).get(String(previous.request_id));
      if (status === "pending" || status === "running") {
        return { reason: "previous_run_unfinished", message: `the previous run (${String(previous.request_id)}) is still ${status}` };
      }
    }
    if (schedule.owner && maxQueuedPerOwner > 0) {
      const queued = await requests.countQueued(schedule.owner);
      if (queued >= maxQueuedPerOwner) {
        return {
          reason: "owner_queue_full",
          message: `the owner has ${queued} requests pending or running (MAX_QUEUED_PER_OWNER is ${maxQueuedPerOwner})`,
        };
      }
    }
    return null;
  }

  /** The schedule's body as a submit would take it now; pauses the schedule (and returns null) when it no longer is one. */
  private async validate(schedule: ScheduleDocument, due: Date, now: Date): Promise<Submission | null> {
    const body = { ...schedule.report, output: schedule.output };
    let reason: PauseReason;
    try {
      return parseSubmission(body, this.deps.catalogue, { outputs: OUTPUTS });
    } catch (error) {
      if (error instanceof UnknownReportSubmission) {
        if (this.deps.refreshCatalogue && !this.deps.catalogue.get(error.reportName)) {
          await this.deps.refreshCatalogue();
          if (this.deps.catalogue.get(error.reportName)) return this.validate(schedule, due, now);
        }
        reason = { code: "unknown_report", message: `${error.message}: the schedule paused itself`, at: now };
      } else if (error instanceof ValidationError) {
        reason = {
          code: "invalid_report",
          message: `the report body no longer validates (${error.message}): the schedule paused itself`,
          errors: error.errors,
          at: now,
        };
      } else {
        throw error;
      }
    }
    if (await this.deps.schedules.pauseItself(schedule, due, reason)) {
      this.deps.log.warn("schedule.paused_itself", { schedule_id: schedule._id, reason: reason.code, message: reason.message });
    }
    return null;
  }
}
