/**
 * The webhook outbox: requests whose final status must still be POSTed (`callback.state:
 * "pending"` on a finished request). Deliveries are claimed like jobs: one atomic update takes a
 * due delivery, counts the attempt and pushes `next_at` out by a lease, so a worker that dies
 * mid-delivery leaves it due again once the lease passes (at-least-once). The outcome is written
 * only while the claim still holds (owner and attempt number), as job results are.
 */
import type { Collection, Filter } from "mongodb";
import type { RequestDocument } from "../requests/document.ts";
import { FINAL_STATUSES } from "../requests/status.ts";

export interface DeliveryClaim {
  id: RequestDocument["_id"];
  owner: string;
  attempt: number;
}

export type DeliveryOutcome =
  | { state: "delivered"; status: number }
  | { state: "pending"; status: number | null; error: string; nextAt: Date }
  | { state: "failed"; status: number | null; error: string };

export class WebhookOutbox {
  constructor(private readonly requests: Collection<RequestDocument>) {}

  /** Takes one due delivery (its request finished, its next attempt time passed), or null. */
  claim(owner: string, leaseMs: number, now = new Date()): Promise<RequestDocument | null> {
    return this.requests.findOneAndUpdate(
      { "callback.state": "pending", status: { $in: [...FINAL_STATUSES] }, "callback.next_at": { $lte: now } },
      { $set: { "callback.owner": owner, "callback.next_at": new Date(now.getTime() + leaseMs) }, $inc: { "callback.attempts": 1 } },
      { returnDocument: "after" },
    );
  }

  /** Writes how the attempt went; false when the claim was lost (another worker retook it). */
  async record(claim: DeliveryClaim, outcome: DeliveryOutcome, now = new Date()): Promise<boolean> {
    const fence: Filter<RequestDocument> = { _id: claim.id, "callback.owner": claim.owner, "callback.attempts": claim.attempt };
    const common = { "callback.owner": null, "callback.state": outcome.state, "callback.last_status": outcome.status };
    const set =
      outcome.state === "delivered"
        ? { ...common, "callback.last_error": null, "callback.delivered_at": now }
        : outcome.state === "pending"
          ? { ...common, "callback.last_error": outcome.error, "callback.next_at": outcome.nextAt }
          : { ...common, "callback.last_error": outcome.error };
    const { matchedCount } = await this.requests.updateOne(fence, { $set: set });
    return matchedCount === 1;
  }
}
