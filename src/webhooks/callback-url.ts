/**
 * The check a `callback_url` passes at submit: https (or http to a host the operator allows), no
 * credentials in it, and every address its host resolves to public, unless the host is allowed.
 * The delivery checks the addresses again when it connects (deliver.ts): DNS may change between.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { normaliseHost } from "../config/webhooks.ts";
import { blockedReason } from "./address.ts";

export class CallbackUrlError extends Error {
  override name = "CallbackUrlError";
}

export type ResolveAll = (host: string) => Promise<string[]>;

const resolveAll: ResolveAll = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** The URL as it will be called; throws CallbackUrlError saying why it is refused. */
export async function checkCallbackUrl(raw: unknown, allowHosts: readonly string[], resolve: ResolveAll = resolveAll): Promise<string> {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 2048)
    throw new CallbackUrlError("must be a URL of at most 2048 characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CallbackUrlError(`${JSON.stringify(raw)} is not a URL`);
  }
  const host = normaliseHost(url.hostname);
  const allowed = allowHosts.includes(host);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && allowed)) {
    throw new CallbackUrlError(`must be https (plain http only to hosts in WEBHOOK_ALLOW_HOSTS); got ${url.protocol}//${host}`);
  }
  if (url.username || url.password)
    throw new CallbackUrlError("must not carry credentials (user:password@); put a token in the path or query");
  if (allowed) return url.href;
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch (error) {
    throw new CallbackUrlError(`${host} cannot be resolved (${(error as { code?: string }).code ?? (error as Error).message})`);
  }
  if (addresses.length === 0) throw new CallbackUrlError(`${host} resolves to no address`);
  for (const address of addresses) {
    const reason = blockedReason(address);
    if (reason)
      throw new CallbackUrlError(
        `${host} resolves to a loopback, link-local or private address (${reason}); an operator may allow it in WEBHOOK_ALLOW_HOSTS`,
      );
  }
  return url.href;
}
