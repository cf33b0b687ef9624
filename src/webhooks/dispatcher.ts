/**
 * Delivers webhooks from the outbox (outbox.ts), in every worker process beside the job worker.
 * Woken when a request reaches a final status (the change stream) and by a periodic sweep
 * (retries coming due, deliveries whose worker died); as with jobs, waking only means "try to
 * claim". A few deliveries run at once, each bounded by WEBHOOK_TIMEOUT_MS.
 */
import { hostname } from "node:os";
import process from "node:process";
import type { Collection } from "mongodb";
import { representRequest } from "../api/representation.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { FINAL_STATUSES, type RequestDocument } from "../requests/document.ts";
import type { RequestEvents } from "../requests/events.ts";
import { postWebhook } from "./deliver.ts";
import { WebhookOutbox, type DeliveryClaim, type DeliveryOutcome } from "./outbox.ts";
import { signWebhook } from "./signature.ts";

/** Deliveries one process runs at once: receivers are slow, not CPU-bound. */
const CONCURRENCY = 4;
const MAX_RETRY_DELAY_MS = 3_600_000;

export interface DispatcherDeps {
  config: Config;
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

export class WebhookDispatcher {
  readonly owner = `${hostname()}:${process.pid}:webhooks:${Math.random().toString(36).slice(2, 8)}`;
  private readonly outbox: WebhookOutbox;
  private readonly inFlight = new Set<Promise<void>>();
  private claiming = false;
  /** The claim loop running now, if any: stop() waits for it, so a delivery claimed meanwhile is waited for too. */
  private claimLoopRun: Promise<void> | null = null;
  private wakeAgain = false;
  private stopping = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: DispatcherDeps) {
    this.outbox = new WebhookOutbox(deps.requests);
    this.log = deps.log.child({ part: "webhooks" });
  }

  /** Without WEBHOOK_SECRET no request can carry a callback (the API refuses it): nothing to start. */
  start(): void {
    if (!this.deps.config.webhookSecret) return;
    this.unsubscribe = this.deps.events.subscribe({
      change: (event) => {
        if (event.status && FINAL_STATUSES.includes(event.status)) this.wake();
      },
      resync: () => this.wake(),
    });
    this.sweepTimer = setInterval(() => this.wake(), this.deps.config.sweepMs);
    this.wake();
  }

  wake(): void {
    if (this.stopping) return;
    if (this.claiming) {
      this.wakeAgain = true;
      return;
    }
    this.claiming = true;
    this.claimLoopRun = this.claimLoop().finally(() => {
      this.claiming = false;
      this.claimLoopRun = null;
    });
  }

  private get leaseMs(): number {
    // Long enough for the attempt to time out and its outcome to be written.
    return 2 * this.deps.config.webhookTimeoutMs + 1000;
  }

  private async claimLoop(): Promise<void> {
    do {
      this.wakeAgain = false;
      while (!this.stopping && this.inFlight.size < CONCURRENCY) {
        let doc: RequestDocument | null;
        try {
          doc = await this.outbox.claim(this.owner, this.leaseMs);
        } catch (error) {
          this.log.warn("webhook.claim_failed", { error });
          return; // the sweep tries again
        }
        if (!doc?.callback) break;
        const delivery = this.deliver(doc).finally(() => {
          this.inFlight.delete(delivery);
          this.wake();
        });
        this.inFlight.add(delivery);
      }
    } while (this.wakeAgain && !this.stopping);
  }

  private async deliver(doc: RequestDocument): Promise<void> {
    const { config, metrics } = this.deps;
    const callback = doc.callback!;
    const claim: DeliveryClaim = { id: doc._id, owner: this.owner, attempt: callback.attempts };
    const log = this.log.child({ request_id: doc._id, webhook_id: callback.webhook_id, attempt: claim.attempt });
    const body = webhookBody(doc);
    let status: number | null = null;
    let error: string | undefined;
    try {
      status = await postWebhook(
        callback.url,
        body,
        { ...signWebhook(config.webhookSecret!, callback.webhook_id, body) },
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
    this.stopping = true;
    this.unsubscribe?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // A claim out when stop() began still starts its delivery (bounded like any other): wait for
    // the loop first, so that delivery is in `inFlight` and is waited for, not cut off by shutdown.
    await this.claimLoopRun;
    await Promise.allSettled([...this.inFlight]);
  }
}
