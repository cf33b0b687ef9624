/**
 * Environment → typed, validated configuration. The one place that reads `process.env`, so a
 * misconfigured deployment fails at start with a message naming the variable, not later with a
 * confusing error deep in a request.
 */
import path from "node:path";
import process from "node:process";
import { coerce, create, defaulted, integer, max, min, number, object, optional, string, StructError, type Struct } from "superstruct";

const int = (lo: number, hi: number) => coerce(min(max(integer(), hi), lo), string(), (s) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s));

const ConfigStruct = object({
  MONGODB_URI: optional(string()),
  MONGODB_DB: defaulted(string(), "sample_mflix"),
  PORT: defaulted(int(0, 65535), 3000),
  HOST: defaulted(string(), "127.0.0.1"),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: defaulted(int(1, 64), 2),
  /** How long a claim lasts without a heartbeat; a crashed worker's job is retaken after this. */
  LEASE_MS: defaulted(int(1000, 3_600_000), 30_000),
  /** Heartbeat period; a third of the lease leaves two chances before it expires. */
  HEARTBEAT_MS: optional(int(100, 1_200_000)),
  /** Safety-net poll for requests no change event announced (and expired leases). */
  SWEEP_MS: defaulted(int(100, 600_000), 5_000),
  MAX_ATTEMPTS: defaulted(int(1, 100), 3),
  RETRY_BASE_MS: defaulted(int(0, 3_600_000), 1_000),
  REPORT_MAX_TIME_MS: defaulted(int(1000, 86_400_000), 600_000),
  /** Rows per stored chunk; a page never reads more than two chunks beyond its rows. */
  ROWS_PER_CHUNK: defaulted(int(1, 100_000), 1_000),
  PAGE_SIZE_DEFAULT: defaulted(int(1, 10_000), 10),
  PAGE_SIZE_MAX: defaulted(int(1, 10_000), 1_000),
  WAIT_MAX_S: defaulted(int(0, 300), 30),
  SHUTDOWN_GRACE_MS: defaulted(int(0, 600_000), 10_000),
  PUBLIC_BASE_URL: optional(string()),
  /** Extra folders of code-defined report modules (<collection>/<name>.js), separated by the path delimiter (":"). */
  REPORTS_DIRS: optional(string()),
  /** How often report modules and report_definitions are re-read (0: only at start). */
  CATALOGUE_RELOAD_MS: defaulted(int(0, 3_600_000), 5_000),
  /** Finished requests, their rows and files are removed this long after they finish (0: keep). */
  RETENTION_HOURS: defaulted(int(0, 100_000), 168),
  RETENTION_SWEEP_MS: defaulted(int(100, 86_400_000), 60_000),
  /** An identical request completed this recently is answered with that result (0: never). */
  REUSE_WINDOW_S: defaulted(int(0, 31_536_000), 60),
  /** Access control: comma-separated `name:sha256hex` of each API key; empty means open. */
  API_KEYS: optional(string()),
  /** Requests per minute per API key (or per client address when access control is off); 0: none. */
  RATE_LIMIT_PER_MINUTE: defaulted(int(0, 1_000_000), 0),
  BODY_LIMIT_KB: defaulted(int(1, 10_240), 64),
});

/** Every variable this service reads (documented in the README's configuration table). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(ConfigStruct.schema);

type Raw = typeof ConfigStruct extends Struct<infer T, unknown> ? T : never;

export interface Config {
  mongoUri: string | undefined;
  dbName: string;
  port: number;
  host: string;
  workerConcurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  sweepMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  reportMaxTimeMs: number;
  rowsPerChunk: number;
  pageSizeDefault: number;
  pageSizeMax: number;
  waitMaxSeconds: number;
  shutdownGraceMs: number;
  publicBaseUrl: string | undefined;
  reportsDirs: string[];
  catalogueReloadMs: number;
  retentionMs: number;
  retentionSweepMs: number;
  reuseWindowMs: number;
  /** API key owner name → SHA-256 of the key (hex); empty: access control off. */
  apiKeys: Map<string, string>;
  rateLimitPerMinute: number;
  bodyLimitBytes: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the variables this service knows; others in `env` are ignored. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const known: Record<string, string> = {};
  for (const key of Object.keys(ConfigStruct.schema)) {
    const value = env[key];
    if (value !== undefined && value !== "") known[key] = value;
  }
  let raw: Raw;
  try {
    raw = create(known, ConfigStruct);
  } catch (error) {
    if (error instanceof StructError) {
      const name = error.path.join(".");
      throw new ConfigError(`invalid environment variable ${name}=${JSON.stringify(known[name])}: ${error.message}`);
    }
    throw error;
  }
  if (raw.PAGE_SIZE_DEFAULT > raw.PAGE_SIZE_MAX) {
    throw new ConfigError(`PAGE_SIZE_DEFAULT (${raw.PAGE_SIZE_DEFAULT}) must not exceed PAGE_SIZE_MAX (${raw.PAGE_SIZE_MAX})`);
  }
  const heartbeatMs = raw.HEARTBEAT_MS ?? Math.max(100, Math.floor(raw.LEASE_MS / 3));
  if (heartbeatMs >= raw.LEASE_MS) {
    throw new ConfigError(`HEARTBEAT_MS (${heartbeatMs}) must be shorter than LEASE_MS (${raw.LEASE_MS})`);
  }
  return {
    mongoUri: raw.MONGODB_URI,
    dbName: raw.MONGODB_DB,
    port: raw.PORT,
    host: raw.HOST,
    workerConcurrency: raw.WORKER_CONCURRENCY,
    leaseMs: raw.LEASE_MS,
    heartbeatMs,
    sweepMs: raw.SWEEP_MS,
    maxAttempts: raw.MAX_ATTEMPTS,
    retryBaseMs: raw.RETRY_BASE_MS,
    reportMaxTimeMs: raw.REPORT_MAX_TIME_MS,
    rowsPerChunk: raw.ROWS_PER_CHUNK,
    pageSizeDefault: raw.PAGE_SIZE_DEFAULT,
    pageSizeMax: raw.PAGE_SIZE_MAX,
    waitMaxSeconds: raw.WAIT_MAX_S,
    shutdownGraceMs: raw.SHUTDOWN_GRACE_MS,
    publicBaseUrl: raw.PUBLIC_BASE_URL,
    reportsDirs: (raw.REPORTS_DIRS ?? "").split(path.delimiter).filter((dir) => dir.trim() !== ""),
    catalogueReloadMs: raw.CATALOGUE_RELOAD_MS,
    retentionMs: raw.RETENTION_HOURS * 3_600_000,
    retentionSweepMs: raw.RETENTION_SWEEP_MS,
    reuseWindowMs: raw.REUSE_WINDOW_S * 1000,
    apiKeys: parseApiKeys(raw.API_KEYS),
    rateLimitPerMinute: raw.RATE_LIMIT_PER_MINUTE,
    bodyLimitBytes: raw.BODY_LIMIT_KB * 1024,
    ...overrides,
  };
}

/**
 * `API_KEYS=alice:<sha256 hex>,bob:<sha256 hex>`. Only hashes are configured, so a leaked config
 * does not leak keys; `node -e "console.log(require('crypto').createHash('sha256').update(KEY).digest('hex'))"`
 * makes one.
 */
function parseApiKeys(value: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  for (const entry of (value ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_.-]{1,64}):([0-9a-f]{64})$/.exec(entry);
    if (!match) throw new ConfigError(`invalid API_KEYS entry ${JSON.stringify(entry.replace(/:.*/, ":…"))}: expected name:<64 hex digits of SHA-256>`);
    if (keys.has(match[1])) throw new ConfigError(`API_KEYS names ${match[1]} twice`);
    keys.set(match[1], match[2]);
  }
  return keys;
}

/** The URI a process must have; the embedded database is only started by scripts/start. */
export function requireMongoUri(config: Config): string {
  if (!config.mongoUri) throw new ConfigError("MONGODB_URI is not set (for a local database run `npm run db` and export the URI it prints)");
  return config.mongoUri;
}
