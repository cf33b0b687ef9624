/**
 * API_KEYS, parsed where the configuration is read (config.ts), so a bad entry stops the process
 * at start-up; the API's access guard (api/access.ts) checks presented keys against the result.
 */

/** What a key may do; each route declares the scope it needs (api/route.ts `access`). */
export const SCOPES = ["read", "submit", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

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
