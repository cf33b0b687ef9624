/**
 * Rate limits, shared by every API process of the deployment: the counters live in MongoDB
 * (rate-limiter-flexible's RateLimiterMongo: one atomic upsert-and-increment per counted call on a
 * document per key and window, unique on `key`), so N replicas behind a load balancer still allow
 * the limit once, not N times. Its indexes are created with the others (src/indexes.ts). A window is
 * one minute from a key's first call in it (fixed window, not a sliding one).
 *
 * Three limits, each with its own counters (key prefix): calls per API key (per client address when
 * access control is off), calls to public routes per client address, and failed authentications
 * per client address.
 *
 * Each has an in-memory stage in front of MongoDB: a key that has used its window is blocked in this
 * process until the window ends (`inMemoryBlockOnConsumed`), so a client hammering past its limit
 * costs no database write; and a store call that fails or takes longer than the timeout is decided
 * by a per-process in-memory limiter (`insuranceLimiter`), so the API keeps limiting, per process,
 * when the primary is slow or away.
 */
import type { Context } from "koa";
import { RateLimiterMemory, RateLimiterMongo, RateLimiterRes, RLWrapperTimeouts } from "rate-limiter-flexible";
import { COLLECTIONS, type Database } from "../db.ts";
import { PROBLEMS, ProblemError } from "./problems.ts";
import type { Guard } from "./router.ts";

const WINDOW_S = 60;

/** The client's address: the TCP peer's, or the one TRUST_PROXY's proxies report (app.ts). */
const address = (ctx: Context) => `ip:${ctx.ip}`;

function client(ctx: Context): string {
  return (ctx.state.owner as string | undefined) ?? address(ctx);
}

interface InMemoryBlocks {
  getInMemoryBlockMsBeforeExpire(storeKey: string): number;
}

export interface Limit {
  /** Counts one call for `key`; rejects with a 429 problem past the limit. */
  consume(key: string): Promise<void>;
  /** Whether this process already knows `key` has used its window (no database call). */
  blockedHere(key: string): number;
}

/** One limit: the MongoDB counter behind its in-memory stage. */
export function limit(
  database: Pick<Database, "client" | "db">,
  options: { prefix: string; perMinute: number; storeTimeoutMs: number; what: string },
): Limit {
  const { perMinute } = options;
  const store = new RateLimiterMongo({
    storeClient: database.client,
    dbName: database.db.databaseName,
    tableName: COLLECTIONS.rateLimits,
    keyPrefix: options.prefix,
    points: perMinute,
    duration: WINDOW_S,
    disableIndexesCreation: true,
    // Without a block duration, a key that reaches the limit is blocked here until its window ends.
    inMemoryBlockOnConsumed: perMinute,
  });
  const limiter = new RLWrapperTimeouts({
    limiter: store,
    timeoutMs: options.storeTimeoutMs,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: options.prefix, points: perMinute, duration: WINDOW_S }),
  });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection; // both stages failed: the problem middleware answers
        throw rateLimited(`${options.what} is ${perMinute} per minute`, rejection.msBeforeNext);
      }
    },
    // A public method of the store (RateLimiterStoreAbstract) that the package's types leave out.
    blockedHere: (key) => (store as unknown as InMemoryBlocks).getInMemoryBlockMsBeforeExpire(store.getKey(key)),
  };
}

function rateLimited(detail: string, msBeforeNext: number): ProblemError {
  const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new ProblemError(PROBLEMS.rateLimited, `${detail}; retry in ${retryAfter} s`, {
    headers: { "Retry-After": String(retryAfter) },
  });
}

export interface RateLimits {
  /** Calls per minute per API key (per client address when access control is off) on routes that are not public; 0: none. */
  perMinute: number;
  /** Calls per minute per client address on public routes; 0: none. */
  publicPerMinute: number;
  /** A store call slower than this is decided in memory. */
  storeTimeoutMs: number;
}

/** Counts the call against its route's limit; runs after the access guard, which names the key. */
export function rateLimitGuard(database: Database, limits: RateLimits): Guard {
  const { storeTimeoutMs } = limits;
  const keyed =
    limits.perMinute > 0 ? limit(database, { prefix: "api", perMinute: limits.perMinute, storeTimeoutMs, what: "the limit" }) : null;
  const open =
    limits.publicPerMinute > 0
      ? limit(database, { prefix: "public", perMinute: limits.publicPerMinute, storeTimeoutMs, what: "the limit for public routes" })
      : null;
  return async (route, ctx) => {
    if (route.access === "public") await open?.consume(address(ctx));
    else await keyed?.consume(client(ctx));
  };
}

/**
 * Wraps the access guard: each failed authentication (401) counts against the client's address,
 * and an address past `perMinute` failures gets 429 before its key is even looked at, so keys
 * cannot be guessed at the speed of the API. Successful calls cost nothing here: the block is
 * checked in memory, and each process learns of it at its first failure past the limit.
 */
export function failedAuthenticationGuard(
  access: Guard,
  database: Database,
  options: { perMinute: number; storeTimeoutMs: number },
): Guard {
  if (options.perMinute === 0) return access;
  const failures = limit(database, { prefix: "auth-failures", ...options, what: "the limit of failed authentications" });
  return async (route, ctx) => {
    const blockedMs = failures.blockedHere(address(ctx));
    if (blockedMs > 0) throw rateLimited(`the limit of failed authentications is ${options.perMinute} per minute`, blockedMs);
    try {
      await access(route, ctx);
    } catch (error) {
      if (error instanceof ProblemError && error.problem === PROBLEMS.unauthorized) await failures.consume(address(ctx));
      throw error;
    }
  };
}
