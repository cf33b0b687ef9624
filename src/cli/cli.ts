/**
 * mongo-reports: the service from a terminal or a script, through the TypeScript client.
 *
 *   mongo-reports reports
 *   mongo-reports run <name> [--param key=value …] [--body file.json] [--output json|csv|both|…]
 *                            [--wait] [--format table|json|csv] [--out file] [--timeout seconds]
 *   mongo-reports status <id> | cancel <id> | history [--report name] [--status s] [--limit n]
 *
 * --url / MONGO_REPORTS_URL and --api-key / MONGO_REPORTS_API_KEY say where and as whom.
 * Exit codes: 0 done, 1 failed (the service said no, or the report ended error or cancelled),
 * 2 the command line itself is wrong.
 */
import { createWriteStream, readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import {
  ApiError,
  createClient,
  type MongoReportsClient,
  type Output,
  type ReportRequest,
  type ReportStatus,
  type WaitOptions,
} from "@mongo-reports/client";
import { parseParams } from "./params.ts";
import { FORMATS, writeRows, type Format } from "./output.ts";

const USAGE = `Usage: mongo-reports <command> [options]

Commands:
  reports                     the reports that can be run
  run <name>                  request a report
      --param key=value       a parameter (repeatable); the value is JSON when it parses as JSON
                              (top=5, rating='{"$gte":8}'), else text; dotted keys nest (rating.$gte=8)
      --body file.json        parameters from a file (--param entries win)
      --output KIND           what the service writes: json (the default: rows read through the API),
                              csv, both, or another file format the service offers (a list: csv,xlsx)
      --wait                  wait for the end, then print the rows (or, without json rows, download
                              the first file to --out)
      --timeout seconds       give up waiting after this long
  status <id>                 a request's status (--wait: its final status; exit 1 on error or cancelled)
  cancel <id>                 cancel a pending or running request
  history                     past requests, newest first (--report name, --status s, --limit n)

Options:
  --format table|json|csv     how to print (default: table on a terminal, json when piped)
  --out file                  write to this file instead of standard output
  --url URL                   the service (or MONGO_REPORTS_URL; default http://127.0.0.1:3000)
  --api-key KEY               the API key (or MONGO_REPORTS_API_KEY)
  -h, --help                  this text

Exit codes: 0 done; 1 failed, or the report ended error or cancelled; 2 bad command line.
`;

class UsageError extends Error {}

const OPTIONS = {
  url: { type: "string" },
  "api-key": { type: "string" },
  param: { type: "string", multiple: true },
  body: { type: "string" },
  output: { type: "string" },
  wait: { type: "boolean" },
  timeout: { type: "string" },
  format: { type: "string" },
  out: { type: "string" },
  report: { type: "string" },
  status: { type: "string" },
  limit: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

interface Io {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export async function main(argv: string[], io: Io): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? io.stdout : io.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    const client = createClient({
      baseUrl: values.url ?? io.env.MONGO_REPORTS_URL ?? "http://127.0.0.1:3000",
      apiKey: values["api-key"] ?? io.env.MONGO_REPORTS_API_KEY,
    });
    const format = chosenFormat(values.format, io.stdout);
    const out = values.out ? createWriteStream(values.out) : io.stdout;
    try {
      return await run(command, rest, values, { client, format, out, io });
    } finally {
      if (out !== io.stdout) {
        out.end();
        await finished(out);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`mongo-reports: ${describe(error)}\n`);
    return 1;
  }
}

function chosenFormat(option: string | undefined, stdout: { isTTY?: boolean }): Format {
  if (option === undefined) return stdout.isTTY ? "table" : "json";
  if (!(FORMATS as readonly string[]).includes(option)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  return option as Format;
}

function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = Array.isArray(error.problem.errors)
      ? (error.problem.errors as { field: string; message: string }[]).map((e) => `\n  ${e.field}: ${e.message}`).join("")
      : "";
    return `${error.message}${fields}`;
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause) return `the service is not reachable (${(error as Error).message}: ${cause.code ?? cause.message})`;
  return error instanceof Error ? error.message : String(error);
}

interface Context {
  client: MongoReportsClient;
  format: Format;
  out: Writable;
  io: Io;
}

async function run(command: string, args: string[], values: Values, context: Context): Promise<number> {
  const { client, format, out } = context;
  switch (command) {
    case "reports": {
      const reports = await client.reports();
      const rows = reports.map((r) => ({ name: r.name, collection: r.collection, description: r.description }));
      await writeRows(list(rows), ["name", "collection", "description"], format, out);
      return 0;
    }
    case "run":
      return runReport(one(args, "run <name>"), values, context);
    case "status": {
      const request = client.request(one(args, "status <id>"));
      if (!values.wait) {
        await printStatus(await request.status(), context);
        return 0;
      }
      return finish(request, await waitWithProgress(request, values, context), context);
    }
    case "cancel":
      await printStatus(await client.request(one(args, "cancel <id>")).cancel(), context);
      return 0;
    case "history": {
      const page = await client.history({
        ...(values.report ? { report_name: values.report } : {}),
        ...(values.status ? { status: values.status as ReportStatus["status"] } : {}),
        ...(values.limit ? { limit: Number(values.limit) } : {}),
      });
      const rows = page.items.map((r) => ({
        id: r.id,
        report_name: r.report_name,
        status: r.status,
        report_date: r.report_date,
        duration_ms: r.duration_ms,
      }));
      await writeRows(list(rows), ["id", "report_name", "status", "report_date", "duration_ms"], format, out);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

function one(args: string[], usage: string): string {
  if (args.length !== 1) throw new UsageError(`usage: mongo-reports ${usage}`);
  return args[0];
}

async function* list<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** Seconds `run --wait` without a terminal lets the service hold the submission (within --timeout). */
const SUBMIT_HOLD_S = 20;

async function runReport(name: string, values: Values, context: Context): Promise<number> {
  const { client, format, out, io } = context;
  // Passed through as given (the service says which kinds it accepts); a comma makes a list.
  const output = values.output === undefined ? undefined : values.output.includes(",") ? values.output.split(",") : values.output;
  let params: Record<string, unknown>;
  try {
    const body = values.body ? (JSON.parse(readFileSync(values.body, "utf8")) as Record<string, unknown>) : {};
    params = parseParams(values.param ?? [], body);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // With --wait and no terminal to show progress on, the service may hold the submission: a small
  // report then comes back finished from the one POST; a longer one comes back pending and is
  // followed below. On a terminal the progress line starts at once instead.
  const hold =
    values.wait && !io.stderr.isTTY ? Math.min(SUBMIT_HOLD_S, values.timeout ? Math.floor(Number(values.timeout)) : Infinity) : 0;
  const request = await client.submit(name, params, {
    ...(output ? { output: output as Output } : {}),
    ...(hold > 0 ? { wait: hold } : {}),
  });
  if (!values.wait) {
    // Scripts read the id: `id=$(mongo-reports run … --format csv)`.
    if (format === "json") out.write(`${JSON.stringify(request.last)}\n`);
    else out.write(`${request.id}\n`);
    return 0;
  }
  const final = await waitWithProgress(request, values, context);
  if (final.status !== "completed") return finish(request, final, context);
  const kinds = ([] as string[]).concat(final.output as string | string[]);
  if (!kinds.includes("json") && !kinds.includes("both")) {
    // No rows to page through: the (first) file is the result.
    if (!values.out) throw new UsageError(`--output ${kinds.join(",")} --wait needs --out file: the file is downloaded there`);
    const bytes = await request.download(values.out, { format: kinds[0] });
    io.stderr.write(`${name} (${final.id}): ${bytes} bytes written to ${values.out}\n`);
    return 0;
  }
  // The final status (from the event stream) has no columns; one status read has them.
  await writeRows(request.rows(), (await request.status()).columns, format, out);
  return 0;
}

/** Waits for the final status, with a progress line when standard error is a terminal. */
async function waitWithProgress(request: ReportRequest, values: Values, { io }: Context): Promise<ReportStatus> {
  const final = await request.wait({
    ...(values.timeout ? { timeoutMs: Number(values.timeout) * 1000 } : {}),
    ...(io.stderr.isTTY ? { onEvent: progressLine(io.stderr, request.id) } : {}),
  });
  if (io.stderr.isTTY) io.stderr.write("\r\x1b[K");
  return final;
}

/** The final status printed; 1 when the report ended error or cancelled. */
async function finish(request: ReportRequest, final: ReportStatus, context: Context): Promise<number> {
  if (final.status === "completed") {
    await printStatus(final, context);
    return 0;
  }
  context.io.stderr.write(
    `mongo-reports: ${final.report_name} (${request.id}) ended ${final.status}` +
      (final.error ? `: ${final.error.code}: ${final.error.message}` : "") +
      "\n",
  );
  return 1;
}

/** One line on the terminal, rewritten in place: the status, then the job's progress. */
function progressLine(stderr: Writable, id: string): NonNullable<WaitOptions["onEvent"]> {
  return (event) => {
    const text =
      event.kind === "status"
        ? `${event.status.status}`
        : `${event.progress.phase}: ${event.progress.rows} rows${event.progress.bytes ? `, ${event.progress.bytes} bytes` : ""}`;
    stderr.write(`\r\x1b[K${id} ${text}`);
  };
}

async function printStatus(status: ReportStatus, context: Context): Promise<void> {
  if (context.format === "json") {
    context.out.write(`${JSON.stringify(status)}\n`);
    return;
  }
  const fields = {
    id: status.id,
    report_name: status.report_name,
    status: status.status,
    output: status.output,
    report_date: status.report_date,
    finished_at: status.finished_at,
    total_rows: status.total_rows,
    error: status.error ? `${status.error.code}: ${status.error.message}` : undefined,
  };
  const rows = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([field, value]) => ({ field, value }));
  await writeRows(list(rows), ["field", "value"], context.format, context.out);
}
