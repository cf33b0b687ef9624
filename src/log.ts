/**
 * Structured logging: one JSON object per line, so log shippers and `jq` read it without parsing
 * free text. Every entry has `time`, `level`, `event` and whatever context the caller adds.
 */
import process from "node:process";
import { setImmediate } from "node:timers";

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

/** A turn's lines are written at once from this size on, without waiting for the turn to end. */
const FLUSH_AT_BYTES = 64 * 1024;

/**
 * Standard output, written once per turn of the event loop. On Linux a write to a file or a pipe
 * is synchronous: one write per line was a system call per line, and a busy worker logs two lines
 * per job (bench/worker-profile.ts found those writes among its largest costs). Lines logged in
 * one turn are joined and written together when the turn ends (setImmediate), or at once past
 * FLUSH_AT_BYTES; whatever is left when the process exits (process.exit after a fatal error
 * included) is written then, synchronously, so no line is lost to a clean or an error exit.
 */
class TurnBufferedStdout {
  private lines: string[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor() {
    process.on("exit", () => this.flush());
  }

  write(line: string): void {
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= FLUSH_AT_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.join("\n") + "\n";
    this.lines = [];
    this.bytes = 0;
    process.stdout.write(text);
  }
}

let stdout: TurnBufferedStdout | undefined;
/** The default output of every logger: one shared buffer (made on first use, so tools that never log register nothing). */
const writeStdout = (line: string) => (stdout ??= new TurnBufferedStdout()).write(line);

export function createLogger(
  base: LogFields = {},
  minLevel: LogLevel = (process.env.LOG_LEVEL as LogLevel | undefined) ?? "info",
  write: (line: string) => void = writeStdout,
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
