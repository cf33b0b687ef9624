/**
 * A lock held by one process at a time, as a document `{ _id: name, owner, until }`. Taking it is
 * one upsert by `_id` that matches only a free, expired or already-ours lock: when another owner
 * holds it, the upsert's insert collides on `_id` (the one uniqueness every deployment enforces)
 * and the lock is not ours. It expires by itself (`until`), so a holder that dies blocks others
 * for at most `ttlMs`. Uses the holder's clock, like leases (see src/requests/README.md).
 */
import { MongoServerError, type Collection } from "mongodb";

export interface LockDocument {
  _id: string;
  owner: string;
  until: Date;
}

const DUPLICATE_KEY = 11000;

export class DistributedLock {
  constructor(
    private readonly locks: Collection<LockDocument>,
    private readonly name: string,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes (or extends) the lock; false when another owner holds it and it has not expired. */
  async acquire(now = new Date()): Promise<boolean> {
    try {
      await this.locks.updateOne(
        { _id: this.name, $or: [{ owner: this.owner }, { until: { $lt: now } }] },
        { $set: { owner: this.owner, until: new Date(now.getTime() + this.ttlMs) } },
        { upsert: true },
      );
      return true;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
      throw error;
    }
  }

  /**
   * Whether another owner holds the lock now: a read, so processes waiting for a lock that is
   * held can look every pass without a failing write each time.
   */
  async heldByAnother(now = new Date()): Promise<boolean> {
    const doc = await this.locks.findOne({ _id: this.name }, { projection: { owner: 1, until: 1 } });
    return doc !== null && doc.owner !== this.owner && doc.until > now;
  }

  /** Extends a lock this owner holds; false if it expired and someone else took it. */
  async renew(now = new Date()): Promise<boolean> {
    const { matchedCount } = await this.locks.updateOne(
      { _id: this.name, owner: this.owner },
      { $set: { until: new Date(now.getTime() + this.ttlMs) } },
    );
    return matchedCount === 1;
  }

  async release(): Promise<void> {
    await this.locks.deleteOne({ _id: this.name, owner: this.owner });
  }
}
