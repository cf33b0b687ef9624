/**
 * The request seal: how the service tells a request it accepted from a document someone else
 * inserted into `report_requests`.
 *
 * Integrations insert requests straight into the collection (docs/integrations.md), and MongoDB
 * cannot limit which fields an insert carries (a `$jsonSchema` validator sees no difference between
 * an integration's insert and the service's own writes, and not every server applies one). So the
 * fields that carry the service's trust are vouched for by an HMAC the service writes beside them:
 * `seal = HMAC-SHA256(key, [request _id, owner, callback URL, schedule id])`.
 *
 * - The API (and the schedule firer) seals a request when it submits it: its owner, its checked
 *   callback and its schedule are the service's.
 * - A worker admits a Mongo-native document when it first claims it (worker.ts): fields only the
 *   service may write are refused, and the document is sealed as ownerless.
 * - Readers trust a document's owner, callback, schedule and final state only under a valid seal
 *   (store.ts, webhooks/dispatcher.ts). The seal names the `_id`, which is unique, so a seal copied
 *   onto another document is worthless; and an `_id` that is not an ObjectId is never sealed.
 *
 * The key is made once per database, at random, and kept in `report_keys`, a collection of the
 * service's own that definitions cannot read and integrations need no access to.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ObjectId, type AnyBulkWriteOperation, type Collection, type Db } from "mongodb";
import { COLLECTIONS } from "../db.ts";
import type { RequestDocument } from "./document.ts";

/** What a seal vouches for. */
export type SealedFields = Pick<RequestDocument, "_id"> & Partial<Pick<RequestDocument, "owner" | "callback" | "schedule_id">>;

export class RequestSeal {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error("a request seal key has at least 32 bytes");
  }

  /** The seal of `doc`; undefined for an `_id` that is not an ObjectId (such a document is never the service's). */
  sign(doc: SealedFields): string | undefined {
    if (!(doc._id instanceof ObjectId)) return undefined;
    const scheduleId = doc.schedule_id instanceof ObjectId ? doc.schedule_id.toHexString() : null;
    const payload = JSON.stringify(["request/v1", doc._id.toHexString(), doc.owner ?? null, doc.callback?.url ?? null, scheduleId]);
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }

  /** Whether `doc` carries the seal of its own id, owner, callback and schedule. */
  verify(doc: SealedFields & { seal?: unknown }): boolean {
    if (typeof doc.seal !== "string") return false;
    const expected = this.sign(doc);
    if (expected === undefined) return false;
    const given = Buffer.from(doc.seal);
    const wanted = Buffer.from(expected);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }
}

interface KeyDocument {
  _id: string;
  key: string;
  created_at: Date;
}

const KEY_ID = "request-seal";

/**
 * This database's seal key, made on first use. `created` is true for the one process that made it:
 * it seals the requests already there (see sealExisting), written before requests were sealed.
 */
export async function loadRequestSeal(keys: Collection<KeyDocument>): Promise<{ seal: RequestSeal; created: boolean }> {
  const existing = await keys.findOne({ _id: KEY_ID });
  if (existing) return { seal: new RequestSeal(Buffer.from(existing.key, "base64")), created: false };
  const made: KeyDocument = { _id: KEY_ID, key: randomBytes(32).toString("base64"), created_at: new Date() };
  try {
    await keys.insertOne(made);
    return { seal: new RequestSeal(Buffer.from(made.key, "base64")), created: true };
  } catch (error) {
    // Another process made it first (duplicate _id): use that one.
    if ((error as { code?: number }).code !== 11000) throw error;
    const theirs = await keys.findOne({ _id: KEY_ID });
    if (!theirs) throw error;
    return { seal: new RequestSeal(Buffer.from(theirs.key, "base64")), created: false };
  }
}

/**
 * Seals every request that has no seal: run once, by the process that made the key, so requests
 * written by a version that did not seal keep their owner, callback and results. Returns how many.
 */
export async function sealExisting(requests: Collection<RequestDocument>, seal: RequestSeal): Promise<number> {
  let sealed = 0;
  let batch: AnyBulkWriteOperation<RequestDocument>[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    sealed += (await requests.bulkWrite(batch, { ordered: false })).modifiedCount;
    batch = [];
  };
  const unsealed = requests.find({ seal: { $exists: false } }, { projection: { _id: 1, owner: 1, "callback.url": 1, schedule_id: 1 } });
  for await (const doc of unsealed) {
    const value = seal.sign(doc);
    if (value === undefined) continue;
    batch.push({ updateOne: { filter: { _id: doc._id, seal: { $exists: false } }, update: { $set: { seal: value } } } });
    if (batch.length >= 500) await flush();
  }
  await flush();
  return sealed;
}

/** The seal of the database `db` (made on first use), for code that builds a RequestStore itself. */
export async function requestSealOf(db: Db): Promise<RequestSeal> {
  return (await loadRequestSeal(db.collection<KeyDocument>(COLLECTIONS.keys))).seal;
}
