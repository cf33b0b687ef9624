/**
 * Environment → typed, validated configuration. The one place that reads the service's variables,
 * so a misconfigured deployment fails at start with a message naming the variable, not later with a
 * confusing error deep in a request.
 *
 * Each variable is declared once, in SETTINGS below: its environment name, type (a superstruct
 * struct that parses the string), default, and description. The `Config` type, the validation, and
 * the README's configuration table (`configTable()`, checked by a unit test) all come from there.
 * To add a variable: add one entry; its value appears in `Config` under the entry's key.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { parseApiKeys, type ApiKeys } from "./config/api-keys.ts";
import { parseReadTags, READ_PREFERENCE_MODES, reportRead } from "./config/report-reads.ts";
import { normaliseHost, parseWebhookSecret } from "./config/webhooks.ts";
import { boolean, coerce, create, enums, integer, max, min, string, StructError, type Struct } from "superstruct";

/** A whole number within bounds, from its decimal text. */
const int = (lo: number, hi: number) => coerce(min(max(integer(), hi), lo), string(), (s) => (/^-?\d+$/.test(s.trim()) ? Number(s) : s));
const text = () => string();
const FLAG_WORDS: Record<string, boolean> = { true: true, false: false, on: true, off: false, "1": true, "0": false };
const flag = () => coerce(boolean(), string(), (s) => FLAG_WORDS[s.trim().toLowerCase()] ?? s);

interface Setting<T, V> {
  /** The environment variable. */
  env: string;
  /** Parses and checks the variable's text. */
  type: Struct<T, any>;
  /** Used when the variable is unset or empty; no default (and no `docDefault`) means optional. */
  default?: T;
  /** How the README states a default that is not a literal value (computed, or set by the deployment). */
  docDefault?: string;
  /** One line for the README. */
  doc: string;
  /** Turns the parsed variable into the value the code uses (a unit change, a derived structure). */
  value?: (raw: T | undefined) => V;
}

/** Declares one variable; `const` keeps the declaration's exact shape, from which its `Config` type follows. */
function setting<const S extends Setting<any, any>>(declaration: S): S {
  return declaration;
}

/** A comma-separated list, trimmed, without empty entries. */
const commaList = (list: string | undefined) =>
  (list ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
const hoursToMs = (hours: number | undefined) => (hours ?? 0) * 3_600_000;
const secondsToMs = (seconds: number | undefined) => (seconds ?? 0) * 1000;

export const SETTINGS = {
  mongoUri: setting({
    env: "MONGODB_URI",
    type: text(),
    docDefault: "(embedded, for `npm start`)",
    doc: "MongoDB connection string; a replica set (change streams need one)",
  }),
  dbName: setting({
    env: "MONGODB_DB",
    type: text(),
    default: "sample_mflix",
    doc: "database holding the data and the service's collections",
  }),
  port: setting({ env: "PORT", type: int(0, 65535), default: 3000, doc: "API listen port" }),
  host: setting({ env: "HOST", type: text(), default: "127.0.0.1", doc: "API listen address" }),
  publicBaseUrl: setting({ env: "PUBLIC_BASE_URL", type: text(), doc: "the API's public URL, for the OpenAPI document's `servers`" }),
  workerConcurrency: setting({
    env: "WORKER_CONCURRENCY",
    type: int(0, 64),
    default: 2,
    doc: "jobs one worker process runs at once; 0: it claims none and only fires schedules, delivers webhooks and purges old results (the resident worker beside Kubernetes Jobs that run the reports)",
  }),
  workerMaxJobs: setting({
    env: "WORKER_MAX_JOBS",
    type: int(0, 100_000),
    default: 0,
    doc: "a worker process claims at most this many requests, then exits 0 once they have ended, or at once when a claim finds none (one Kubernetes Job per request); it runs no schedules or retention; 0: no limit, the worker runs until SIGTERM",
  }),
  workerPrefetch: setting({
    env: "WORKER_PREFETCH",
    type: int(0, 64),
    default: 4,
    doc: "requests a worker claims ahead of its free slots, in the same batch claim, so that under a backlog one claim serves several jobs; fewer when its jobs run long (only what its slots should start within 100 ms); one not started within `HEARTBEAT_MS` is handed back, as are all at shutdown; 0: claim for free slots only",
  }),
  completionBatchMs: setting({
    env: "COMPLETION_BATCH_MS",
    type: int(0, 1000),
    default: 0,
    doc: "how long a finished job's completion may wait for the worker's other running jobs, so that jobs finishing close together are written in one bulk write (a job with nothing else running is written at once); worth a few ms when each write to the database is costly (a distant primary, w: majority on a busy replica set); 0: no waiting (completions arriving during a write still share the next one)",
  }),
  leaseMs: setting({
    env: "LEASE_MS",
    type: int(1000, 3_600_000),
    default: 30_000,
    doc: "how long a claim lasts without a heartbeat; a crashed worker's job is retaken after this",
  }),
  heartbeatMs: setting({
    env: "HEARTBEAT_MS",
    type: int(100, 1_200_000),
    docDefault: "a third of `LEASE_MS`",
    doc: "lease renewal period (two chances before the lease expires)",
  }),
  sweepMs: setting({
    env: "SWEEP_MS",
    type: int(100, 600_000),
    default: 5_000,
    doc: "safety-net poll for requests no change event announced (and expired leases)",
  }),
  progressIntervalMs: setting({
    env: "PROGRESS_INTERVAL_MS",
    type: int(100, 600_000),
    default: 1_000,
    doc: "a running job's progress (phase, rows, bytes) is written with its heartbeat at most this often, and only when it moved",
  }),
  maxStreamsPerKey: setting({
    env: "MAX_STREAMS_PER_KEY",
    type: int(0, 100_000),
    default: 10,
    doc: "event streams (`GET /v1/reports/:id/events`) one API key (one client address without keys) may hold open in one API process; one more gets 429 too-many-streams; 0: no cap",
  }),
  streamMaxMs: setting({
    env: "STREAM_MAX_S",
    type: int(1, 86_400),
    default: 600,
    doc: "an event stream is closed after this many seconds (the client resumes with `Last-Event-ID`), so none is held forever",
    value: secondsToMs,
  }),
  sseHeartbeatMs: setting({
    env: "SSE_HEARTBEAT_MS",
    type: int(100, 300_000),
    default: 15_000,
    doc: "comment line period on open server-sent event streams, so proxies do not close them",
  }),
  metricsPort: setting({
    env: "METRICS_PORT",
    type: int(0, 65535),
    doc: "a worker process serves Prometheus `/metrics` on this port (on `HOST`; 0: any free port); unset: no listener (the API serves `/metrics` on its own port)",
  }),
  maxAttempts: setting({
    env: "MAX_ATTEMPTS",
    type: int(1, 100),
    default: 3,
    doc: "attempts of a request whose failures may pass (a report may set its own)",
  }),
  retryBaseMs: setting({
    env: "RETRY_BASE_MS",
    type: int(0, 3_600_000),
    default: 1_000,
    doc: "base of the exponential retry backoff (with jitter)",
  }),
  reportReadPreference: setting({
    env: "REPORT_READ_PREFERENCE",
    type: enums([...READ_PREFERENCE_MODES]),
    default: "primary",
    doc: "where report aggregations read (never the queue): `secondaryPreferred` or `secondary` keeps heavy reports off the primary; each request records what it used (`read`)",
  }),
  reportReadTags: setting({
    env: "REPORT_READ_TAGS",
    type: text(),
    doc: "tag sets for report reads, `;` between sets, `,` between `name:value` pairs (e.g. `nodeType:ANALYTICS` for Atlas analytics nodes; a trailing `;` allows any member last); needs a preference other than primary",
    value: (tags: string | undefined) => {
      try {
        return parseReadTags(tags);
      } catch (error) {
        throw new ConfigError((error as Error).message);
      }
    },
  }),
  reportMaxStalenessS: setting({
    env: "REPORT_MAX_STALENESS_S",
    type: int(90, 86_400),
    doc: "report reads avoid secondaries lagging more than this many seconds (at least 90, as MongoDB requires); needs a preference other than primary",
  }),
  reportMaxTimeMs: setting({
    env: "REPORT_MAX_TIME_MS",
    type: int(1000, 86_400_000),
    default: 600_000,
    doc: "aggregation `maxTimeMS` and the worker's limit on a whole run (a report may set its own)",
  }),
  rowsPerChunk: setting({ env: "ROWS_PER_CHUNK", type: int(1, 100_000), default: 1_000, doc: "most rows per stored chunk" }),
  pageSizeDefault: setting({ env: "PAGE_SIZE_DEFAULT", type: int(1, 10_000), default: 10, doc: "`page_size` when none is given" }),
  pageSizeMax: setting({ env: "PAGE_SIZE_MAX", type: int(1, 10_000), default: 1_000, doc: "largest `page_size`" }),
  waitMaxSeconds: setting({ env: "WAIT_MAX_S", type: int(0, 300), default: 30, doc: "longest `wait=`" }),
  maxLongPollsPerKey: setting({
    env: "MAX_LONG_POLLS_PER_KEY",
    type: int(0, 100_000),
    default: 10,
    doc: "waiting reads (`GET /v1/reports/:id`, and held submissions `POST /v1/reports`, with `wait=N` or `Prefer: wait=N`, N > 0) one API key (one client address without keys) may hold open in one API process; one more is answered at once, without waiting and without `Preference-Applied`; 0: no cap",
  }),
  shutdownGraceMs: setting({
    env: "SHUTDOWN_GRACE_MS",
    type: int(0, 600_000),
    default: 10_000,
    doc: "how long SIGTERM waits for running jobs before releasing them",
  }),
  reportsDirs: setting({
    env: "REPORTS_DIRS",
    type: text(),
    doc: "extra folders of code-defined report modules (`<collection>/<name>.js`), `:`-separated",
    value: (dirs: string | undefined) => (dirs ?? "").split(path.delimiter).filter((dir) => dir.trim() !== ""),
  }),
  definitionCollections: setting({
    env: "DEFINITION_COLLECTIONS",
    type: text(),
    default: "movies,comments,theaters",
    doc: "the collections data-defined reports may read or join, comma-separated (never the service's own collections nor `system.*`)",
    value: (list: string | undefined) => commaList(list),
  }),
  hiddenFields: setting({
    env: "HIDDEN_FIELDS",
    type: text(),
    default: "password",
    doc: "field names that never leave in a report's rows (removed at any depth, every report, JSON and files) and that report definitions may not name, comma-separated",
    value: (list: string | undefined) => commaList(list),
  }),
  createDataIndexes: setting({
    env: "CREATE_DATA_INDEXES",
    type: flag(),
    default: true,
    doc: "create the indexes reports declare on the data collections at start (`false`: an operator does; the missing ones are logged)",
  }),
  catalogueReloadMs: setting({
    env: "CATALOGUE_RELOAD_MS",
    type: int(0, 3_600_000),
    default: 5_000,
    doc: "how often report modules and `report_definitions` are re-read (0: only at start)",
  }),
  schedulePollMs: setting({
    env: "SCHEDULE_POLL_MS",
    type: int(0, 600_000),
    default: 1_000,
    doc: "longest sleep of a worker's schedule loop between looks for due schedules (it wakes for the next due tick; 0: this worker fires none)",
  }),
  scheduleMinIntervalS: setting({
    env: "SCHEDULE_MIN_INTERVAL_S",
    type: int(1, 86_400),
    default: 60,
    doc: "a schedule whose cron ticks come closer together than this many seconds is refused (422 invalid-schedule)",
  }),
  schedulesPerOwner: setting({
    env: "SCHEDULES_PER_OWNER",
    type: int(0, 100_000),
    default: 20,
    doc: "schedules one API key may own (all anonymous ones together when keys are off); one more is refused (429 too-many-schedules); 0: no cap",
  }),
  maxQueuedPerOwner: setting({
    env: "MAX_QUEUED_PER_OWNER",
    type: int(0, 10_000_000),
    default: 100,
    doc: "pending plus running requests one API key may have, from every source (submits and its schedules); one more is refused (429 too-many-queued) or its schedule tick skipped; 0: no cap. Keys off: no cap (there is no owner)",
  }),
  retentionMs: setting({
    env: "RETENTION_HOURS",
    type: int(0, 100_000),
    default: 168,
    doc: "finished requests, their rows and files are removed this many hours after finishing (0: keep)",
    value: hoursToMs,
  }),
  retentionSweepMs: setting({
    env: "RETENTION_SWEEP_MS",
    type: int(100, 86_400_000),
    default: 60_000,
    doc: "how often the retention sweeper runs",
  }),
  reuseWindowMs: setting({
    env: "REUSE_WINDOW_S",
    type: int(0, 31_536_000),
    default: 60,
    doc: "answer an identical request with a result this many seconds old (0: never)",
    value: secondsToMs,
  }),
  apiKeys: setting({
    env: "API_KEYS",
    type: text(),
    docDefault: "(off)",
    doc: "`name:sha256hex[:scope+scope],…`: turns access control on; scopes `read`, `submit`, `admin` (default `read+submit`)",
    value: (keys) => apiKeysFromEnv(keys),
  }),
  webhookSecret: setting({
    env: "WEBHOOK_SECRET",
    type: text(),
    docDefault: "(off: `callback_url` refused)",
    doc: "signs webhooks (Standard Webhooks): `whsec_` + base64 of 24–64 random bytes",
    value: (secret) => webhookKeyFromEnv(secret),
  }),
  webhookAllowHosts: setting({
    env: "WEBHOOK_ALLOW_HOSTS",
    type: text(),
    docDefault: "(none)",
    doc: "comma-separated hosts a `callback_url` may name although they resolve to loopback/private/link-local addresses; also the only hosts allowed over plain `http`",
    value: (hosts: string | undefined): string[] =>
      (hosts ?? "")
        .split(",")
        .map(normaliseHost)
        .filter((host: string) => host !== ""),
  }),
  webhookTimeoutMs: setting({
    env: "WEBHOOK_TIMEOUT_MS",
    type: int(100, 300_000),
    default: 10_000,
    doc: "a receiver that has not answered a delivery in this time counts as failed (the attempt is retried)",
  }),
  webhookRetryBaseMs: setting({
    env: "WEBHOOK_RETRY_BASE_MS",
    type: int(10, 3_600_000),
    default: 5_000,
    doc: "first retry delay of a failed delivery; doubles with each attempt, at most an hour",
  }),
  webhookMaxAgeMs: setting({
    env: "WEBHOOK_MAX_AGE_S",
    type: int(1, 2_592_000),
    default: 86_400,
    doc: "deliveries are retried until this many seconds after the request finished, then marked failed",
    value: secondsToMs,
  }),
  rateLimitPerMinute: setting({
    env: "RATE_LIMIT_PER_MINUTE",
    type: int(0, 1_000_000),
    default: 0,
    doc: "requests per minute per API key (per client address without keys); 0: no limit",
  }),
  publicRateLimitPerMinute: setting({
    env: "PUBLIC_RATE_LIMIT_PER_MINUTE",
    type: int(0, 1_000_000),
    default: 0,
    doc: "requests per minute per client address to public routes (discovery, health, `/openapi.json`); 0: no limit",
  }),
  authFailuresPerMinute: setting({
    env: "AUTH_FAILURES_PER_MINUTE",
    type: int(0, 1_000_000),
    default: 20,
    doc: "failed authentications (401) per minute per client address; past it, every call from the address gets 429 until the minute ends; 0: no limit",
  }),
  rateLimitTimeoutMs: setting({
    env: "RATE_LIMIT_TIMEOUT_MS",
    type: int(10, 60_000),
    default: 1000,
    doc: "a rate-limit counter update in MongoDB slower than this (or failing) is decided by the API process's in-memory limiter",
  }),
  trustProxy: setting({
    env: "TRUST_PROXY",
    type: int(0, 32),
    default: 0,
    doc: "proxies in front of the API whose `X-Forwarded-For` entries are trusted (the client address is the one N hops back); 0: the header is ignored",
  }),
  bodyLimitBytes: setting({
    env: "BODY_LIMIT_KB",
    type: int(1, 10_240),
    default: 64,
    doc: "larger request bodies (KiB) get 413",
    value: (kb) => (kb ?? 0) * 1024,
  }),
  unreachableExitMs: setting({
    env: "UNREACHABLE_EXIT_S",
    type: int(0, 86_400),
    default: 300,
    doc: "a worker whose claims have failed this many seconds exits 1 for its supervisor to restart it (0: never)",
    value: secondsToMs,
  }),
  gcsBucket: setting({ env: "GCS_BUCKET", type: text(), docDefault: "(none: local directory)", doc: "bucket for CSV files" }),
  gcsKeyFile: setting({
    env: "GCS_KEY_FILE",
    type: text(),
    doc: "service-account key: GCS credentials, and the key that signs `gcs_link` URLs (checked at start)",
  }),
  googleApplicationCredentials: setting({
    env: "GOOGLE_APPLICATION_CREDENTIALS",
    type: text(),
    doc: "used as `GCS_KEY_FILE` when that is unset",
  }),
  storageEmulatorHost: setting({
    env: "STORAGE_EMULATOR_HOST",
    type: text(),
    doc: "a GCS emulator (e.g. fake-gcs-server), `http://host:port`",
  }),
  gcsProjectId: setting({ env: "GCS_PROJECT_ID", type: text(), doc: "GCS project" }),
  gcsMaxRetries: setting({
    env: "GCS_MAX_RETRIES",
    type: int(0, 10),
    default: 3,
    doc: "the storage client's retries of one HTTP call (then `MAX_ATTEMPTS` applies)",
  }),
  gcsUploadChunkKb: setting({
    env: "GCS_UPLOAD_CHUNK_KB",
    type: int(0, 262_144),
    default: 0,
    doc: "0: each CSV streams to GCS in one resumable request (least memory); N (a multiple of 256): chunked upload, N KiB per request, a failed request resent from memory (holds about 2×N KiB, plus garbage collected late)",
  }),
  csvLinkExpirySeconds: setting({
    env: "CSV_LINK_EXPIRY_S",
    type: int(1, 604_800),
    default: 3600,
    doc: "signed-URL lifetime (V4 allows at most 7 days)",
  }),
  localCsvDir: setting({
    env: "LOCAL_CSV_DIR",
    type: text(),
    docDefault: "`$TMPDIR/mongo-reports/csv`",
    doc: "CSV directory when no bucket is set",
    value: (dir: string | undefined) => path.resolve(dir ?? path.join(os.tmpdir(), "mongo-reports", "csv")),
  }),
  csvFormulaGuard: setting({
    env: "CSV_FORMULA_GUARD",
    type: flag(),
    default: true,
    doc: "prefix CSV text cells and column names that start with `=` `+` `-` `@` (also after leading spaces, no-break space or BOM, and their full-width forms), tab, CR or LF with `'` so spreadsheets show them as text (OWASP CSV injection)",
  }),
  logLevel: setting({
    env: "LOG_LEVEL",
    type: enums(["debug", "info", "warn", "error"]),
    default: "info",
    doc: "logs are one JSON object per line on stdout",
  }),
  datasetNote: setting({
    env: "DATASET_NOTE",
    type: text(),
    doc: "a sentence about the data the reports run over, shown in discovery (`dataset.note`) and as a banner in the console; `npm start` sets one when it loads the demo data",
  }),
  demoData: setting({
    env: "DEMO_DATA",
    type: flag(),
    default: true,
    doc: "`npm start` only: load the shipped sample_mflix subset into an empty database",
  }),
  demoMovies: setting({
    env: "DEMO_MOVIES",
    type: int(1, 10_000_000),
    doc: "`npm start` only: load this many generated movies (with comments, users, theaters) instead",
  }),
};

type Settings = typeof SETTINGS;
/** A setting's value in `Config`: what `value` returns, else the parsed type (possibly undefined when there is no default). */
type ValueOf<S> = S extends { value: (raw: any) => infer V }
  ? V
  : S extends { type: Struct<infer T, any> }
    ? S extends { default: unknown }
      ? T
      : T | undefined
    : never;

/** Every setting's value, plus `csv`: where CSV output goes, assembled from the GCS and CSV settings. */
export type Config = { [K in keyof Settings]: ValueOf<Settings[K]> } & { heartbeatMs: number; csv: CsvConfig };

/** Every variable this service reads (the README's configuration table lists them all). */
export const CONFIG_VARIABLES: readonly string[] = Object.values(SETTINGS).map((s) => s.env);

/** Where CSV output goes. */
export interface CsvConfig {
  /** Lifetime of signed links, in seconds. */
  linkExpirySeconds: number;
  /** The local sink's directory (used when `gcs` is null). */
  localDir: string;
  /** Neutralise formula-like text cells (CSV_FORMULA_GUARD); absent means on. */
  formulaGuard?: boolean;
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
  /** 0: one streamed resumable request; otherwise the size of each chunked request (a multiple of 256 KiB). */
  chunkSizeBytes: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the variables this service knows; others in `env` are ignored. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const values: Record<string, unknown> = {};
  for (const [key, declaration] of Object.entries(SETTINGS) as [string, Setting<any, unknown>][]) {
    const given = env[declaration.env];
    let raw: unknown = declaration.default;
    if (given !== undefined && given !== "") {
      try {
        raw = create(given, declaration.type);
      } catch (error) {
        if (!(error instanceof StructError)) throw error;
        throw new ConfigError(`invalid environment variable ${declaration.env}=${JSON.stringify(given)}: ${error.message}`);
      }
    }
    values[key] = declaration.value ? declaration.value(raw) : raw;
  }
  const config = values as Omit<Config, "csv">;
  if (config.pageSizeDefault > config.pageSizeMax) {
    throw new ConfigError(`PAGE_SIZE_DEFAULT (${config.pageSizeDefault}) must not exceed PAGE_SIZE_MAX (${config.pageSizeMax})`);
  }
  try {
    reportRead(config.reportReadPreference, config.reportReadTags, config.reportMaxStalenessS);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (config.workerMaxJobs > 0 && config.workerConcurrency === 0) {
    throw new ConfigError(
      `WORKER_MAX_JOBS (${config.workerMaxJobs}) needs a WORKER_CONCURRENCY of 1 or more: such a worker only runs jobs`,
    );
  }
  config.heartbeatMs ??= Math.max(100, Math.floor(config.leaseMs / 3));
  if (config.heartbeatMs >= config.leaseMs) {
    throw new ConfigError(`HEARTBEAT_MS (${config.heartbeatMs}) must be shorter than LEASE_MS (${config.leaseMs})`);
  }
  return { ...config, csv: parseCsvConfig(config), ...overrides };
}

/** The README's configuration table, generated from SETTINGS (a unit test keeps the README in step). */
export function configTable(): string {
  const rows = (Object.values(SETTINGS) as Setting<any, unknown>[]).map((s) => {
    const shown = s.docDefault ?? (s.default === undefined ? "(none)" : `\`${String(s.default)}\``);
    return `| \`${s.env}\` | ${shown} | ${s.doc} |`;
  });
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

/** API_KEYS (syntax and scopes in src/api/access.ts), failing as a ConfigError that names the entry. */
function webhookKeyFromEnv(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  try {
    return parseWebhookSecret(value);
  } catch (error) {
    throw new ConfigError(`invalid environment variable WEBHOOK_SECRET (not shown): ${(error as Error).message}`);
  }
}

function apiKeysFromEnv(value: string | undefined): ApiKeys {
  try {
    return parseApiKeys(value);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * CSV output settings. A key file is checked here (readable JSON with `client_email` and
 * `private_key`) so a wrong path fails the start, not the first export an hour later.
 */
function parseCsvConfig(config: Omit<Config, "csv">): CsvConfig {
  const base = { linkExpirySeconds: config.csvLinkExpirySeconds, localDir: config.localCsvDir, formulaGuard: config.csvFormulaGuard };
  if (!config.gcsBucket) {
    if (config.gcsKeyFile) throw new ConfigError("GCS_KEY_FILE is set but GCS_BUCKET is not: set the bucket CSV files go to");
    return { ...base, gcs: null };
  }
  if (!BUCKET_NAME.test(config.gcsBucket)) {
    throw new ConfigError(
      `invalid environment variable GCS_BUCKET=${JSON.stringify(config.gcsBucket)}: not a bucket name (3–222 of a-z 0-9 . _ -)`,
    );
  }
  if (config.gcsUploadChunkKb % 256 !== 0) {
    throw new ConfigError(
      `GCS_UPLOAD_CHUNK_KB (${config.gcsUploadChunkKb}) must be 0 (one streamed request) or a multiple of 256 (GCS resumable uploads take 256 KiB chunks)`,
    );
  }
  let emulatorHost: string | undefined;
  if (config.storageEmulatorHost) {
    // Accept the forms emulators document: with or without a scheme, with or without /storage/v1.
    const value = /^https?:\/\//.test(config.storageEmulatorHost) ? config.storageEmulatorHost : `http://${config.storageEmulatorHost}`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(
        `invalid environment variable STORAGE_EMULATOR_HOST=${JSON.stringify(config.storageEmulatorHost)}: expected http://host:port`,
      );
    }
    emulatorHost = url.origin;
  }
  const keyVariable = config.gcsKeyFile ? "GCS_KEY_FILE" : "GOOGLE_APPLICATION_CREDENTIALS";
  const keyFile = config.gcsKeyFile ?? config.googleApplicationCredentials;
  if (keyFile) checkKeyFile(keyVariable, keyFile);
  return {
    ...base,
    gcs: {
      bucket: config.gcsBucket,
      ...(keyFile ? { keyFile: path.resolve(keyFile) } : {}),
      ...(emulatorHost ? { emulatorHost } : {}),
      ...(config.gcsProjectId ? { projectId: config.gcsProjectId } : {}),
      maxRetries: config.gcsMaxRetries,
      chunkSizeBytes: config.gcsUploadChunkKb * 1024,
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
