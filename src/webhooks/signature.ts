/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): the secret
 * is `whsec_` + base64 of the key; the signature is `v1,` + base64(HMAC-SHA256(key,
 * `${webhook-id}.${webhook-timestamp}.${body}`)), the timestamp in whole seconds since the epoch.
 */
import { createHmac } from "node:crypto";

const PREFIX = "whsec_";

/** The key bytes of a `whsec_…` secret; throws a message naming what is wrong. */
export function parseWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error(`must start with ${PREFIX} (the Standard Webhooks secret format)`);
  const base64 = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) throw new Error(`after ${PREFIX} must come base64`);
  const key = Buffer.from(base64, "base64");
  // The specification recommends 24 to 64 random bytes.
  if (key.length < 24 || key.length > 64) throw new Error(`the key must be 24 to 64 bytes (this one has ${key.length})`);
  return key;
}

export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export function signWebhook(key: Buffer, id: string, body: string, now = new Date()): WebhookHeaders {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
}
