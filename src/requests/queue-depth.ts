/**
 * What the worker pool has to do, as MongoDB filters over the requests collection: one definition
 * for the `/metrics` queue-depth gauge and for KEDA's `mongodb` triggers in the Helm chart
 * (`npm run chart:query` writes WORKLOAD and DUE_PENDING into deploy/helm/mongo-reports/files/queue-depth.json;
 * a test checks the file against this module, and runs the rendered queries).
 *
 * "Due" is the claim's own definition (`duePending` in store.ts: `not_before` absent, null or past),
 * written with `$$NOW`, the server's clock, so each filter is a constant JSON document that an
 * autoscaler can send as it is. In an aggregation comparison a missing or null `not_before` sorts
 * below any date, so `$lte` holds for it. Served by the indexes (src/requests/README.md):
 * `pending_due` (partial on pending, `not_before` first) for the pending filters, the `status`
 * prefix of `retention` for running.
 */
import { RequestStatus } from "./status.ts";

/** Pending requests a worker may claim now: also the ScaledJob's count (one Job per due request). */
export const DUE_PENDING = { status: RequestStatus.Pending, $expr: { $lte: ["$not_before", "$$NOW"] } } as const;

/** Pending requests waiting out a retry's backoff (`not_before` still ahead). */
export const BACKING_OFF = { status: RequestStatus.Pending, $expr: { $gt: ["$not_before", "$$NOW"] } } as const;

/** Requests a worker is running. */
export const RUNNING = { status: RequestStatus.Running } as const;

/**
 * The work the pool should be sized for: due pending plus running requests. Divided by a
 * worker's concurrency, the replicas needed (KEDA's target per replica is WORKER_CONCURRENCY).
 */
export const WORKLOAD = { $or: [DUE_PENDING, RUNNING] } as const;
