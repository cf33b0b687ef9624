/**
 * The rate limit per API key (per client address when access control is off), shared by every API
 * process of the deployment: the counters live in MongoDB (rate-limiter-flexible's
 * RateLimiterMongo: one atomic upsert-and-increment per call on a document per key and window,
 * unique on `key`), so N replicas behind a load balancer still allow the limit once, not N times.
 * Its indexes are created with the others (src/indexes.ts). A window is one minute from a key's first call in it (fixed window, not a sliding one).
 */
import type { Context } from "koa";
import { RateLimiterMongo, RateLimiterRes } from "rate-limiter-flexible";
import { COLLECTIONS, type Database } from "../db.ts";
import { PROBLEMS, ProblemError } from "./problems.ts";
import type { Guard } from "./router.ts";

function client(ctx: Context): string {
  return (ctx.state.owner as string | undefined) ?? `ip:${ctx.ip}`;
}

export function rateLimitGuard(database: Database, perMinute: number): Guard {
  if (perMinute === 0) return () => {};
  const limiter = new RateLimiterMongo({
    storeClient: database.client,
    dbName: database.db.databaseName,
    tableName: COLLECTIONS.rateLimits,
    points: perMinute,
    duration: 60,
    disableIndexesCreation: true,
  });
  return async (route, ctx) => {
    if (route.access === "public") return;
    try {
      await limiter.consume(client(ctx));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection; // the store failed: the problem middleware answers
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new ProblemError(PROBLEMS.rateLimited, `limit is ${perMinute} requests per minute; retry in ${retryAfter} s`, {
        headers: { "Retry-After": String(retryAfter) },
      });
    }
  };
}
