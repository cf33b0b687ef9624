/**
 * Environment → typed, validated configuration. The one place that reads `process.env`, so a
 * misconfigured deployment fails at start with a message naming the variable, not later with a
 * confusing error deep in a request.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
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
  /** A worker whose claims have failed this long exits (status 1) for its supervisor to restart it; 0: never. */
  UNREACHABLE_EXIT_S: defaulted(int(0, 86_400), 300),
  // CSV output (see parseCsvConfig): a GCS bucket when GCS_BUCKET is set, else a local directory.
  GCS_BUCKET: optional(string()),
  GCS_KEY_FILE: optional(string()),
  GOOGLE_APPLICATION_CREDENTIALS: optional(string()),
  STORAGE_EMULATOR_HOST: optional(string()),
  GCS_PROJECT_ID: optional(string()),
  /** The storage client's own retries of one HTTP call, before the attempt fails (then MAX_ATTEMPTS applies). */
  GCS_MAX_RETRIES: defaulted(int(0, 10), 3),
  /** Resumable-upload chunk (KiB, a multiple of 256): the most CSV bytes one upload holds in memory. */
  GCS_UPLOAD_CHUNK_KB: defaulted(int(256, 262_144), 8192),
  /** Lifetime of the V4 signed URL in `gcs_link` (V4 allows at most 7 days). */
  CSV_LINK_EXPIRY_S: defaulted(int(1, 604_800), 3600),
  LOCAL_CSV_DIR: optional(string()),
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
  unreachableExitMs: number;
  csv: CsvConfig;
}

/** Where CSV output goes. */
export interface CsvConfig {
  /** Lifetime of signed links, in seconds. */
  linkExpirySeconds: number;
  /** The local sink's directory (used when `gcs` is null). */
  localDir: string;
  gcs: GcsConfig | null;
}

export interface GcsConfig {
  bucket: string;
  /** Service-account key file: credentials, and the key that signs V4 URLs. */
  keyFile?: string;
  /** http(s)://host:port of an emulator (fake-gcs-server); no credentials are sent to it. */
  emulatorHost?: string;
  projectId?: string;
  maxRetries: number;
  chunkSizeBytes: number;
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
    unreachableExitMs: raw.UNREACHABLE_EXIT_S * 1000,
    csv: parseCsvConfig(raw),
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
  for (const entry of (value ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z0-9_.-]{1,64}):([0-9a-f]{64})$/.exec(entry);
    if (!match)
      throw new ConfigError(
        `invalid API_KEYS entry ${JSON.stringify(entry.replace(/:.*/, ":…"))}: expected name:<64 hex digits of SHA-256>`,
      );
    if (keys.has(match[1])) throw new ConfigError(`API_KEYS names ${match[1]} twice`);
    keys.set(match[1], match[2]);
  }
  return keys;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * CSV output settings. A key file is checked here (readable JSON with `client_email` and
 * `private_key`) so a wrong path fails the start, not the first export an hour later.
 */
function parseCsvConfig(raw: Raw): CsvConfig {
  const localDir = path.resolve(raw.LOCAL_CSV_DIR ?? path.join(os.tmpdir(), "mongo-reports", "csv"));
  const base = { linkExpirySeconds: raw.CSV_LINK_EXPIRY_S, localDir };
  if (!raw.GCS_BUCKET) {
    if (raw.GCS_KEY_FILE) throw new ConfigError("GCS_KEY_FILE is set but GCS_BUCKET is not: set the bucket CSV files go to");
    return { ...base, gcs: null };
  }
  if (!BUCKET_NAME.test(raw.GCS_BUCKET)) {
    throw new ConfigError(
      `invalid environment variable GCS_BUCKET=${JSON.stringify(raw.GCS_BUCKET)}: not a bucket name (3–222 of a-z 0-9 . _ -)`,
    );
  }
  if (raw.GCS_UPLOAD_CHUNK_KB % 256 !== 0) {
    throw new ConfigError(
      `GCS_UPLOAD_CHUNK_KB (${raw.GCS_UPLOAD_CHUNK_KB}) must be a multiple of 256 (GCS resumable uploads take 256 KiB multiples)`,
    );
  }
  let emulatorHost: string | undefined;
  if (raw.STORAGE_EMULATOR_HOST) {
    // Accept the forms emulators document: with or without a scheme, with or without /storage/v1.
    const value = /^https?:\/\//.test(raw.STORAGE_EMULATOR_HOST) ? raw.STORAGE_EMULATOR_HOST : `http://${raw.STORAGE_EMULATOR_HOST}`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(
        `invalid environment variable STORAGE_EMULATOR_HOST=${JSON.stringify(raw.STORAGE_EMULATOR_HOST)}: expected http://host:port`,
      );
    }
    emulatorHost = url.origin;
  }
  const keyVariable = raw.GCS_KEY_FILE ? "GCS_KEY_FILE" : "GOOGLE_APPLICATION_CREDENTIALS";
  const keyFile = raw.GCS_KEY_FILE ?? raw.GOOGLE_APPLICATION_CREDENTIALS;
  if (keyFile) checkKeyFile(keyVariable, keyFile);
  return {
    ...base,
    gcs: {
      bucket: raw.GCS_BUCKET,
      ...(keyFile ? { keyFile: path.resolve(keyFile) } : {}),
      ...(emulatorHost ? { emulatorHost } : {}),
      ...(raw.GCS_PROJECT_ID ? { projectId: raw.GCS_PROJECT_ID } : {}),
      maxRetries: raw.GCS_MAX_RETRIES,
      chunkSizeBytes: raw.GCS_UPLOAD_CHUNK_KB * 1024,
    },
  };
}

function checkKeyFile(variable: string, file: string): void {
  let key: { client_email?: unknown; private_key?: unknown };
  try {
    key = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(`${variable}=${JSON.stringify(file)}: cannot read a JSON key file (${(error as Error).message})`);
  }
  if (typeof key.client_email !== "string" || typeof key.private_key !== "string") {
    throw new ConfigError(`${variable}=${JSON.stringify(file)}: not a service-account key (needs client_email and private_key)`);
  }
}

/** The URI a process must have; the embedded database is only started by scripts/start. */
export function requireMongoUri(config: Config): string {
  if (!config.mongoUri)
    throw new ConfigError("MONGODB_URI is not set (for a local database run `npm run db` and export the URI it prints)");
  return config.mongoUri;
}
