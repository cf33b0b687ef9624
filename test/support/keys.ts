/** API keys for tests: each key is its caller's own name, so a test sends `Authorization: Bearer alice`. */
import { createHash } from "node:crypto";
import { parseApiKeys, type ApiKeys } from "../../src/config/api-keys.ts";

/** The `apiKeys` setting for these callers, every scope each (what `API_KEYS` would hold: hashes only). */
export function namedKeys(...names: string[]): ApiKeys {
  return parseApiKeys(names.map((name) => `${name}:${createHash("sha256").update(name).digest("hex")}`).join(","));
}

/** The header a caller made by namedKeys sends. */
export function as(name: string): Record<string, string> {
  return { Authorization: `Bearer ${name}` };
}
