/**
 * The identity of one firing: the `_id` of the request a schedule's tick creates, derived from
 * the schedule id and the tick time alone. Every worker that fires the same tick computes the
 * same `_id`, so the insert itself is the lock: one insert succeeds, the others fail with a
 * duplicate key, on every deployment (the `_id` index is unique everywhere; no leader, no
 * partial index, no transaction).
 *
 * Layout (an ordinary 12-byte ObjectId): 4 bytes of tick time in seconds (so `getTimestamp()`
 * is the tick), then the first 8 bytes of SHA-256(schedule id, tick ms).
 */
import { createHash } from "node:crypto";
import { ObjectId } from "mongodb";

export function tickRequestId(scheduleId: ObjectId, tick: Date): ObjectId {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(tick.getTime() / 1000) >>> 0, 0);
  createHash("sha256").update(`${scheduleId.toHexString()}:${tick.getTime()}`).digest().copy(bytes, 4, 0, 8);
  return new ObjectId(bytes);
}
