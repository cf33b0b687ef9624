/**
 * Structured logging: one JSON object per line, so log shippers and `jq` read it without parsing
 * free text. Every entry has `time`, `level`, `event` and whatever context the caller adds.
 */
import process from "node:process";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger whose every entry also carries `fields` (for example the component or request id). */
  child(fields: LogFields): Logger;
}

/** Errors do not survive JSON.stringify; keep what a reader needs to act on them. */
function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  return value;
}

export function createLogger(
  base: LogFields = {},
  minLevel: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? "info",
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Logger {
  const threshold = LEVEL_RANK[minLevel] ?? LEVEL_RANK.info;
  const emit = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (LEVEL_RANK[level] < threshold) return;
    const entry: LogFields = { time: new Date().toISOString(), level, event, ...base };
    for (const [key, value] of Object.entries(fields)) entry[key] = serialise(value);
    write(JSON.stringify(entry));
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel, write),
  };
}

/** For tests and tools that must stay quiet unless LOG_LEVEL asks otherwise. */
export const silentLogger: Logger = createLogger({}, "error", () => {});
