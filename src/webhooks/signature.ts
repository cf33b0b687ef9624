/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme"): the secret
 * is `whsec_` + base64 of the key; the signature is `v1,` + base64(HMAC-SHA256(key,
 * `${webhook-id}.${webhook-timestamp}.${body}`)), the timestamp in whole seconds since the epoch.
 */
import { createHmac } from "node:crypto";

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
