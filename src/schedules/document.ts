/**
 * A schedule (`report_schedules`): a report body fired on a cron pattern. Workers fire it; each
 * firing is one request in `report_requests` carrying `schedule_id` and `scheduled_for`.
 */
import type { ObjectId } from "mongodb";
import type { OutputKind } from "../requests/document.ts";
import type { RequestStatus } from "../requests/status.ts";

export type ScheduleStatus = "active" | "paused";

/** Why a schedule is paused: by its owner, or by itself when its report stopped being runnable. */
export interface PauseReason {
  /** paused_by_user · unknown_report · invalid_report · invalid_schedule (cron or timezone edited into something invalid) */
  code: string;
  message: string;
  errors?: { field: string; message: string }[];
  at: Date;
}

/** A tick the firer did not fire: previous_run_unfinished · owner_queue_full. */
export interface SkippedTick {
  tick: Date;
  at: Date;
  reason: string;
  message: string;
}

export interface ScheduleRun {
  /** The tick this run is for (the cron time, not when a worker got to it). */
  tick: Date;
  request_id: ObjectId;
  fired_at: Date;
  /** Ticks that passed unfired before this one (no worker running); they were not fired late. */
  missed_ticks?: { count: number; at_least: boolean; first: Date; last: Date };
  /** Filled from the request when the schedule is read. */
  status?: RequestStatus | "deleted";
}

export interface ScheduleDocument {
  _id: ObjectId;
  owner?: string | null;
  cron: string;
  timezone: string;
  /** The body of a POST /v1/reports: report_name and its filters (output is kept apart). */
  report: Record<string, unknown>;
  output: OutputKind;
  callback_url?: string | null;
  status: ScheduleStatus;
  paused?: PauseReason | null;
  /** The next tick to fire; a worker fires it once it is due (null while paused). */
  next_run_at: Date | null;
  /** Ticks not fired because the previous run was unfinished or the owner's queue was full. */
  skipped_ticks?: number;
  /** The latest skipped tick and why. */
  last_skipped?: SkippedTick | null;
  /** The most recent runs, newest last (at most RUNS_KEPT). */
  runs: ScheduleRun[];
  created_at: Date;
  updated_at: Date;
}

/** How many runs a schedule remembers. */
export const RUNS_KEPT = 20;
