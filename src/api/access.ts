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
import type { ApiKeys, Scope } from "../config/api-keys.ts";
import type { Guard } from "./router.ts";

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
