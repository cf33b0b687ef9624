/**
 * API-key access control (off unless API_KEYS is set). Keys are configured as SHA-256 hashes;
 * the presented key is hashed and compared with every configured hash in constant time, so
 * neither the comparison nor which entry matched leaks through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { ProblemError } from "./problem.ts";

function presentedKey(ctx: Context): string | undefined {
  const authorization = ctx.get("Authorization");
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer) return bearer[1];
  return ctx.get("X-API-Key") || undefined;
}

/** The owner name for `key`, or undefined. Always checks every entry. */
export function ownerOfKey(keys: Map<string, string>, key: string): string | undefined {
  const hash = createHash("sha256").update(key).digest();
  let owner: string | undefined;
  for (const [name, hex] of keys) {
    if (timingSafeEqual(Buffer.from(hex, "hex"), hash) && owner === undefined) owner = name;
  }
  return owner;
}

/** Sets `ctx.state.owner` for requests under `/v1/reports` and the per-collection routes. */
export function apiKeyAuth(keys: Map<string, string>, isProtected: (path: string) => boolean) {
  return async (ctx: Context, next: Next) => {
    if (keys.size === 0 || !isProtected(ctx.path)) return next();
    const key = presentedKey(ctx);
    const owner = key === undefined ? undefined : ownerOfKey(keys, key);
    if (!owner) {
      throw new ProblemError(
        401,
        "unauthorized",
        "Unauthorized",
        key === undefined ? "send an API key (Authorization: Bearer <key>)" : "the API key is not valid",
        {},
        {
          "WWW-Authenticate": 'Bearer realm="mongo-reports"',
        },
      );
    }
    ctx.state.owner = owner;
    return next();
  };
}
