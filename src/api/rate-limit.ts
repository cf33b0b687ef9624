/**
 * A token bucket per API key (per client address when access control is off): bursts up to the
 * per-minute limit, refilled continuously. In memory per API process: with N API replicas a
 * client gets at most N × the limit, which is the usual trade for not adding a shared store.
 */
import type { Context, Next } from "koa";
import { ProblemError } from "./problem.ts";

interface Bucket {
  tokens: number;
  updated: number;
}

export function rateLimit(perMinute: number, isLimited: (path: string) => boolean, now: () => number = Date.now) {
  const buckets = new Map<string, Bucket>();
  const perMs = perMinute / 60_000;
  return async (ctx: Context, next: Next) => {
    if (perMinute === 0 || !isLimited(ctx.path)) return next();
    const client = (ctx.state.owner as string | undefined) ?? `ip:${ctx.ip}`;
    const t = now();
    const bucket = buckets.get(client) ?? { tokens: perMinute, updated: t };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (t - bucket.updated) * perMs);
    bucket.updated = t;
    buckets.set(client, bucket);
    if (buckets.size > 10_000) {
      // Forget full buckets: they carry no state a new bucket would not have.
      for (const [key, b] of buckets) if (b.tokens >= perMinute) buckets.delete(key);
    }
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      throw new ProblemError(
        429,
        "rate-limited",
        "Too many requests",
        `limit is ${perMinute} requests per minute; retry in ${retryAfter} s`,
        {},
        {
          "Retry-After": String(retryAfter),
        },
      );
    }
    bucket.tokens -= 1;
    return next();
  };
}
