/**
 * The schedule store: the one module that writes `report_schedules`. Firing writes are
 * conditional on the tick the writer read (`next_run_at`), so of several workers that fire the
 * same tick, one advances the schedule and the others' writes match nothing.
 */
import { ObjectId, type Collection, type Filter } from "mongodb";
import type { Visibility } from "../requests/store.ts";
import { RUNS_KEPT, type PauseReason, type ScheduleDocument, type ScheduleRun, type SkippedTick } from "./document.ts";

function visibleTo(visibility: Visibility): Filter<ScheduleDocument> {
  return visibility.owner ? { owner: visibility.owner } : {};
}

export type NewSchedule = Pick<ScheduleDocument, "cron" | "timezone" | "report" | "output" | "callback_url" | "owner" | "next_run_at">;

/** Fields a PATCH may change (next_run_at follows a changed cron or timezone). */
export type ScheduleChanges = Partial<Pick<ScheduleDocument, "cron" | "timezone" | "report" | "output" | "callback_url" | "next_run_at">>;

export class ScheduleStore {
  constructor(private readonly schedules: Collection<ScheduleDocument>) {}

  async create(schedule: NewSchedule, now = new Date()): Promise<ScheduleDocument> {
    const doc: ScheduleDocument = {
      _id: new ObjectId(),
      ...schedule,
      ...(schedule.owner ? {} : { owner: null }),
      status: "active",
      paused: null,
      runs: [],
      created_at: now,
      updated_at: now,
    };
    await this.schedules.insertOne(doc);
    return doc;
  }

  /** How many schedules `owner` has (null: the anonymous ones, when keys are off). */
  countOwned(owner: string | null): Promise<number> {
    return this.schedules.countDocuments({ owner });
  }

  get(id: ObjectId, visibility: Visibility = {}): Promise<ScheduleDocument | null> {
    return this.schedules.findOne({ _id: id, ...visibleTo(visibility) });
  }

  async list(visibility: Visibility, page: number, pageSize: number): Promise<{ schedules: ScheduleDocument[]; total: number }> {
    const filter = visibleTo(visibility);
    const [schedules, total] = await Promise.all([
      this.schedules
        .find(filter)
        .sort({ _id: 1 })
        .skip(page * pageSize)
        .limit(pageSize)
        .toArray(),
      this.schedules.countDocuments(filter),
    ]);
    return { schedules, total };
  }

  async update(id: ObjectId, visibility: Visibility, changes: ScheduleChanges, now = new Date()): Promise<ScheduleDocument | null> {
    await this.schedules.updateOne({ _id: id, ...visibleTo(visibility) }, { $set: { ...changes, updated_at: now } });
    return this.get(id, visibility);
  }

  async delete(id: ObjectId, visibility: Visibility): Promise<boolean> {
    const { deletedCount } = await this.schedules.deleteOne({ _id: id, ...visibleTo(visibility) });
    return deletedCount === 1;
  }

  async pause(id: ObjectId, visibility: Visibility, reason: PauseReason): Promise<ScheduleDocument | null> {
    await this.schedules.updateOne(
      { _id: id, ...visibleTo(visibility) },
      { $set: { status: "paused", paused: reason, next_run_at: null, updated_at: reason.at } },
    );
    return this.get(id, visibility);
  }

  /** Ticks that passed while paused are not fired: the schedule resumes at `nextRunAt`. */
  async resume(id: ObjectId, visibility: Visibility, nextRunAt: Date | null, now = new Date()): Promise<ScheduleDocument | null> {
    await this.schedules.updateOne(
      { _id: id, status: "paused", ...visibleTo(visibility) },
      { $set: { status: "active", paused: null, next_run_at: nextRunAt, updated_at: now } },
    );
    return this.get(id, visibility);
  }

  /** Active schedules whose next tick is due, earliest first. */
  due(now: Date, limit: number): Promise<ScheduleDocument[]> {
    return this.schedules
      .find({ status: "active", next_run_at: { $lte: now } })
      .sort({ next_run_at: 1 })
      .limit(limit)
      .toArray();
  }

  /** When the earliest active schedule is next due (null: none). */
  async earliestDue(): Promise<Date | null> {
    const [first] = await this.schedules
      .find({ status: "active", next_run_at: { $ne: null } }, { projection: { next_run_at: 1 }, sort: { next_run_at: 1 }, limit: 1 })
      .toArray();
    return first?.next_run_at ?? null;
  }

  /**
   * Moves a schedule past the tick it fired, remembering the run. Conditional on `due` (what the
   * firer read), so exactly one of the workers that fired it advances it; false for the others.
   */
  async advance(schedule: ScheduleDocument, due: Date, next: Date | null, run: ScheduleRun): Promise<boolean> {
    const { matchedCount } = await this.schedules.updateOne(
      { _id: schedule._id, status: "active", next_run_at: due },
      { $set: { next_run_at: next }, $push: { runs: { $each: [run], $slice: -RUNS_KEPT } } },
    );
    return matchedCount === 1;
  }

  /** Moves a schedule past a tick it did not fire, recording why; conditional on `due` as advance() is. */
  async skip(schedule: ScheduleDocument, due: Date, next: Date | null, skipped: SkippedTick): Promise<boolean> {
    const { matchedCount } = await this.schedules.updateOne(
      { _id: schedule._id, status: "active", next_run_at: due },
      { $set: { next_run_at: next, last_skipped: skipped }, $inc: { skipped_ticks: 1 } },
    );
    return matchedCount === 1;
  }

  /** Pauses a schedule that can no longer run (its report vanished or its body stopped validating). */
  async pauseItself(schedule: ScheduleDocument, due: Date, reason: PauseReason): Promise<boolean> {
    const { matchedCount } = await this.schedules.updateOne(
      { _id: schedule._id, status: "active", next_run_at: due },
      { $set: { status: "paused", paused: reason, next_run_at: null, updated_at: reason.at } },
    );
    return matchedCount === 1;
  }
}
