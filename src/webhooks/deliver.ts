/**
 * One webhook POST. Node's http client, not fetch, for two reasons: its `lookup` hook checks the
 * address actually connected to (a name that resolved to a public address at submit may resolve to
 * 127.0.0.1 now), and it never follows redirects (a 3xx is a failed attempt, so a receiver cannot
 * bounce the call to an internal address). The whole attempt, connect to last byte, has one
 * deadline, so a slow receiver cannot hold a delivery slot.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { normaliseHost } from "../config/webhooks.ts";
import { blockedReason } from "./address.ts";

export interface DeliveryOptions {
  timeoutMs: number;
  allowHosts: readonly string[];
}

/** Resolves with the receiver's status (any status: the caller decides); rejects on no answer. */
export function postWebhook(rawUrl: string, body: string, headers: Record<string, string>, options: DeliveryOptions): Promise<number> {
  const url = new URL(rawUrl);
  const host = normaliseHost(url.hostname);
  const allowed = options.allowHosts.includes(host);
  if (!allowed && isIP(host)) {
    const reason = blockedReason(host);
    if (reason) return Promise.reject(new Error(`refused: ${reason}`));
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && allowed))
    return Promise.reject(new Error(`refused: ${url.protocol} to ${host}`));
  const checkedLookup = (hostname: string, lookupOptions: LookupOptions, callback: (...args: any[]) => void) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error);
      if (!allowed) {
        for (const { address } of addresses) {
          const reason = blockedReason(address);
          if (reason) return callback(new Error(`refused: ${hostname} now resolves to ${reason}`));
        }
      }
      if (lookupOptions.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };
  const client = url.protocol === "https:" ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: "POST",
        lookup: checkedLookup as never,
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "mongo-reports-webhooks",
          ...headers,
        },
      },
      (response) => {
        response.resume(); // the body is not used; read it so the socket is released
        response.once("end", () => {
          clearTimeout(deadline);
          resolve(response.statusCode ?? 0);
        });
        response.once("error", (error) => {
          clearTimeout(deadline);
          reject(error);
        });
      },
    );
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.once("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    request.end(body);
  });
}
