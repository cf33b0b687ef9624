/**
 * The webhook settings' syntax (WEBHOOK_SECRET, WEBHOOK_ALLOW_HOSTS), parsed where the
 * configuration is read (config.ts); the webhook modules use the parsed values.
 */

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

/** Host names as an operator writes them in WEBHOOK_ALLOW_HOSTS (lower case, no brackets). */
export function normaliseHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
}
