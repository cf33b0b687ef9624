/**
 * Delivers webhooks from the outbox (outbox.ts), in every worker process beside the job worker.
 * Woken when a request reaches a final status (the change stream) and by a periodic sweep
 * (retries coming due, deliveries whose worker died): the claim loop it shares with the job worker
 * (background/claim-loop.ts), so waking only means "try to claim". A few deliveries run at once,
 * each bounded by WEBHOOK_TIMEOUT_MS.
 */
import type { Collection } from "mongodb";
import type { BackgroundService } from "../background/service.ts";
import { ClaimLoop } from "../background/claim-loop.ts";
import { instanceId } from "../background/instance-id.ts";
import { representRequest } from "../requests/representation.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { RequestDocument } from "../requests/document.ts";
import type { RequestEvents } from "../requests/events.ts";
import type { RequestStore } from "../requests/store.ts";
import { postWebhook } from "./deliver.ts";
import { WebhookOutbox, type DeliveryClaim, type DeliveryOutcome } from "./outbox.ts";
import { signWebhook } from "./signature.ts";

/** Deliveries one process runs at once: receivers are slow, not CPU-bound. */
const CONCURRENCY = 4;
const MAX_RETRY_DELAY_MS = 3_600_000;

export interface DispatcherDeps {
  config: Config;
  /** Its seal tells a callback the API accepted from one an integration wrote (requests/seal.ts). */
  store: Pick<RequestStore, "seal">;
  requests: Collection<RequestDocument>;
  events: RequestEvents;
  log: Logger;
  metrics?: Metrics;
}

/** The body POSTed: the request's status as the API shows it, without the delivery bookkeeping. */
export function webhookBody(doc: RequestDocument): string {
  const { callback: _callback, ...status } = representRequest(doc);
  return JSON.stringify(status);
}

/** The Standard Webhooks `webhook-id` of a request's delivery: from its id, the same on every attempt. */
export function webhookIdOf(id: RequestDocument["_id"]): string {
  return `msg_${id.toHexString()}`;
}

/** Exponential backoff from WEBHOOK_RETRY_BASE_MS, at most an hour; failed once past the request's delivery window. */
export function nextAttempt(
  config: Pick<Config, "webhookRetryBaseMs" | "webhookMaxAgeMs">,
  doc: RequestDocument,
  attempt: number,
  now: Date,
): Date | null {
  const delay = Math.min(config.webhookRetryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
  const finishedAt = doc.finished_at instanceof Date ? doc.finished_at : now;
  const at = new Date(now.getTime() + delay);
  return at.getTime() <= finishedAt.getTime() + config.webhookMaxAgeMs ? at : null;
}

export class WebhookDispatcher implements BackgroundService {
  readonly owner = instanceId("webhooks");
  private readonly outbox: WebhookOutbox;
  private readonly loop: ClaimLoop<RequestDocument>;
  private unsubscribe: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: DispatcherDeps) {
    this.outbox = new WebhookOutbox(deps.requests);
    this.log = deps.log.child({ part: "webhooks" });
    this.loop = new ClaimLoop({
      capacity: CONCURRENCY,
      sweepMs: deps.config.sweepMs,
      claim: async () => {
        const doc = await this.outbox.claim(this.owner, this.leaseMs);
        return doc?.callback ? [doc] : [];
      },
      run: (doc) => this.deliver(doc),
      onClaimFailed: (error) => this.log.warn("webhook.claim_failed", { error }), // the sweep tries again
      onRunFailed: (error, doc) => this.log.error("webhook.unhandled", { request_id: doc._id, error }),
      // No `release`: a delivery claimed while stopping still runs (bounded like any other), and stop() waits for it.
    });
  }

  /** Without WEBHOOK_SECRET no request can carry a callback (the API refuses it): nothing to start. */
  start(): void {
    if (!this.deps.config.webhookSecret) return;
    // Not woken by every final status event: with 50 processes that was 50 claims per finished
    // request, callback or not, nearly all finding nothing. The worker that settles a request with
    // a pending delivery wakes its own process's dispatcher (wake(), see main/background.ts); a
    // request finished elsewhere (a cancel through the API) waits at most one sweep.
    this.unsubscribe = this.deps.events.subscribe({ resync: () => this.wake() });
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  private get leaseMs(): number {
    // Long enough for the attempt to time out and its outcome to be written.
    return 2 * this.deps.config.webhookTimeoutMs + 1000;
  }

  private async deliver(doc: RequestDocument): Promise<void> {
    const { config, metrics } = this.deps;
    const callback = doc.callback!;
    const claim: DeliveryClaim = { id: doc._id, owner: this.owner, attempt: callback.attempts };
    const log = this.log.child({ request_id: doc._id, attempt: claim.attempt });
    // Only a callback the API accepted (checked URL, sealed with the request's id and owner) is
    // ever called, under an id derived from the request's own: a document an integration wrote
    // with a callback, or with a string _id equal to a real request's, is never signed for.
    if (!this.deps.store.seal.verify(doc)) {
      const error = "refused: the API did not accept this callback (the request carries no valid seal); integrations cannot set callbacks";
      await this.outbox.record(claim, { state: "failed", status: null, error }).catch(() => {});
      metrics?.webhookDeliveries.inc({ outcome: "refused" });
      log.warn("webhook.refused", { error });
      return;
    }
    const webhookId = webhookIdOf(doc._id);
    const body = webhookBody(doc);
    let status: number | null = null;
    let error: string | undefined;
    try {
      status = await postWebhook(
        callback.url,
        body,
        { ...signWebhook(config.webhookSecret!, webhookId, body) },
        {
          timeoutMs: config.webhookTimeoutMs,
          allowHosts: config.webhookAllowHosts,
        },
      );
      if (status < 200 || status >= 300) error = `the receiver answered ${status}`;
    } catch (failure) {
      error = (failure as Error).message;
    }
    const now = new Date();
    let outcome: DeliveryOutcome;
    if (error === undefined) outcome = { state: "delivered", status: status! };
    else {
      const nextAt = nextAttempt(config, doc, claim.attempt, now);
      outcome = nextAt ? { state: "pending", status, error, nextAt } : { state: "failed", status, error };
    }
    try {
      const recorded = await this.outbox.record(claim, outcome, now);
      const result = outcome.state === "pending" ? "retry" : outcome.state;
      metrics?.webhookDeliveries.inc({ outcome: result });
      const fields = { status, ...(error ? { error } : {}), recorded };
      if (outcome.state === "delivered") log.info("webhook.delivered", fields);
      else if (outcome.state === "pending") log.warn("webhook.retry_scheduled", { ...fields, next_at: outcome.nextAt });
      else log.warn("webhook.failed", fields);
    } catch (failure) {
      // The lease runs out and the delivery is retried: at-least-once, never lost.
      log.warn("webhook.record_failed", { error: failure, status });
    }
  }

  /** Stops claiming and waits for the deliveries in flight (each ends within WEBHOOK_TIMEOUT_MS). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.loop.stop();
    await this.loop.settled();
  }
}
