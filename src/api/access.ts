/**
 * API keys with scopes (off unless API_KEYS is set). Keys are configured as SHA-256 hashes; the
 * presented key is hashed and compared with every configured hash in constant time, so neither
 * the comparison nor which entry matched leaks through timing. Access is a property of each route
 * (route.ts `access`): this guard only checks the key against it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "koa";
import type { Visibility } from "../requests/store.ts";
import { PROBLEMS, ProblemError } from "./problems.ts";
import { SCOPES, type Scope } from "./route.ts";
import type { Guard } from "./router.ts";

export interface ApiKey {
  /** SHA-256 of the key, hex. */
  hash: string;
  scopes: readonly Scope[];
}

/** Key name → its hash and scopes; empty: access control is off. */
export type ApiKeys = Map<string, ApiKey>;

/** What an entry without scopes may do: today's meaning of a key. */
export const DEFAULT_SCOPES: readonly Scope[] = ["read", "submit"];

/**
 * `API_KEYS=alice:<sha256 hex>,ops:<sha256 hex>:read+submit+admin`. Only hashes are configured,
 * so a leaked config does not leak keys. Throws an Error naming the bad entry.
 */
export function parseApiKeys(value: string | undefined): ApiKeys {
  const keys: ApiKeys = new Map();
  for (const entry of (value ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z0-9_.-]{1,64}):([0-9a-f]{64})(?::([a-z+]+))?$/.exec(entry);
    if (!match) {
      throw new Error(
        `invalid API_KEYS entry ${JSON.stringify(entry.replace(/:.*/, ":…"))}: expected name:<64 hex digits of SHA-256>[:scope+scope…]`,
      );
    }
    const [, name, hash, scopeList] = match;
    const scopes = scopeList === undefined ? DEFAULT_SCOPES : scopeList.split("+");
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (unknown.length > 0 || scopes.length === 0) {
      throw new Error(`API_KEYS entry ${name}: unknown scope ${JSON.stringify(unknown.join("+"))}; scopes are ${SCOPES.join(", ")}`);
    }
    if (keys.has(name)) throw new Error(`API_KEYS names ${name} twice`);
    keys.set(name, { hash, scopes: [...new Set(scopes as Scope[])] });
  }
  return keys;
}

function presentedKey(ctx: Context): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(ctx.get("Authorization"));
  if (bearer) return bearer[1];
  return ctx.get("X-API-Key") || undefined;
}

/** The entry for `key`, or undefined. Always checks every entry. */
export function findKey(keys: ApiKeys, key: string): { name: string; scopes: readonly Scope[] } | undefined {
  const hash = createHash("sha256").update(key).digest();
  let found: { name: string; scopes: readonly Scope[] } | undefined;
  for (const [name, entry] of keys) {
    if (timingSafeEqual(Buffer.from(entry.hash, "hex"), hash) && found === undefined) found = { name, scopes: entry.scopes };
  }
  return found;
}

/** admin holds every scope. */
function holds(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes(needed) || scopes.includes("admin");
}

/** Sets `ctx.state.owner` (the key's name) and `ctx.state.scopes` for routes that are not public. */
export function accessGuard(keys: ApiKeys): Guard {
  return (route, ctx) => {
    if (keys.size === 0 || route.access === "public") return;
    const key = presentedKey(ctx);
    const found = key === undefined ? undefined : findKey(keys, key);
    if (!found) {
      throw new ProblemError(
        PROBLEMS.unauthorized,
        key === undefined ? "send an API key (Authorization: Bearer <key>)" : "the API key is not valid",
        { headers: { "WWW-Authenticate": 'Bearer realm="mongo-reports"' } },
      );
    }
    ctx.state.owner = found.name;
    ctx.state.scopes = found.scopes;
    if (!holds(found.scopes, route.access)) {
      throw new ProblemError(
        PROBLEMS.forbidden,
        `this route needs the ${route.access} scope; the key ${found.name} has ${found.scopes.join(", ")}`,
        {
          extensions: { scope: route.access },
        },
      );
    }
  };
}

/** The key that made the call (stored as a request's owner); null when access control is off. */
export function callerName(ctx: Context): string | null {
  return (ctx.state.owner as string | undefined) ?? null;
}

/** Which requests the caller may see and change: its own, or every one for admin keys and when access control is off. */
export function callerVisibility(ctx: Context): Visibility {
  const scopes = ctx.state.scopes as readonly Scope[] | undefined;
  return { owner: scopes?.includes("admin") ? null : callerName(ctx) };
}
