/**
 * The identity of one firing: a string derived from the schedule id and the tick time alone,
 * stored on the request the tick creates (`tick_key`, unique: index `schedule_tick`). Every
 * process that fires the same tick computes the same key, so of two inserts for one tick one
 * fails with a duplicate key: the backstop behind the firer's lock (firer.ts), for a holder whose
 * lock lapsed mid-pass or a deployment running firers without it.
 *
 * The request's `_id` stays an ordinary ObjectId made at firing time, so it grows with the insert
 * time as the history's `_id` order and `after=` paging assume (an `_id` carrying the tick time put
 * a late-fired tick far down the history, where a client paging with `after=` could skip it).
 */
import type { ObjectId } from "mongodb";

export function tickKey(scheduleId: ObjectId, tick: Date): string {
  return `${scheduleId.toHexString()}@${tick.toISOString()}`;
}
