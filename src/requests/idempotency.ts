/**
 * `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header): a client that retries a
 * POST with the same key gets the request it already made, not a second one; the same key with a
 * different body is a client error.
 *
 * Records are keyed by `_id` (owner + key), the one uniqueness every MongoDB deployment enforces,
 * so two concurrent retries cannot both create a request.
 */
import { MongoServerError, type Collection, type ObjectId } from "mongodb";

export interface IdempotencyRecord {
  _id: string;
  fingerprint: string;
  request_id: ObjectId;
  created_at: Date;
}

/** `recordedAt`: when the key was recorded (its request is inserted right after, by whoever recorded it). */
export type IdempotencyOutcome =
  { kind: "new" } | { kind: "replay"; requestId: ObjectId; recordedAt: Date } | { kind: "mismatch"; requestId: ObjectId };

const DUPLICATE_KEY = 11000;

/** How long after its key was recorded a request may still be on its way to the collection. */
export const CREATION_GRACE_MS = 5_000;

export function scopedKey(owner: string | null | undefined, key: string): string {
  return `${owner ?? "-"}\u0000${key}`;
}

/**
 * Records `key → requestId` unless the key is already taken. Call before inserting the request
 * (with its id chosen in advance), so a losing duplicate never inserts anything a worker could
 * claim. A record whose request is missing may be one whose creator is between the two writes (a
 * concurrent retry): wait for it (`CREATION_GRACE_MS`). Only a record older than that without its
 * request is stale (its creator died in between): `forget` it.
 */
export async function recordKey(
  records: Collection<IdempotencyRecord>,
  id: string,
  fingerprint: string,
  requestId: ObjectId,
): Promise<IdempotencyOutcome> {
  try {
    await records.insertOne({ _id: id, fingerprint, request_id: requestId, created_at: new Date() });
    return { kind: "new" };
  } catch (error) {
    if (!(error instanceof MongoServerError) || error.code !== DUPLICATE_KEY) throw error;
    const existing = await records.findOne({ _id: id });
    if (!existing) throw error; // removed in between (retention): let the client retry
    return existing.fingerprint === fingerprint
      ? { kind: "replay", requestId: existing.request_id, recordedAt: existing.created_at }
      : { kind: "mismatch", requestId: existing.request_id };
  }
}

export async function deleteKeysOf(records: Collection<IdempotencyRecord>, requestIds: ObjectId[]): Promise<void> {
  if (requestIds.length > 0) await records.deleteMany({ request_id: { $in: requestIds } });
}

export async function forgetKey(records: Collection<IdempotencyRecord>, id: string): Promise<void> {
  await records.deleteOne({ _id: id });
}
