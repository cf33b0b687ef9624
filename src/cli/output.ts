/**
 * How the command line prints rows: an aligned table for people, RFC 4180 CSV (the service's own
 * CSV format, src/results/csv.ts) or a JSON array. Rows are streamed: nothing holds the whole
 * result, and a full pipe slows the reading of pages down rather than growing memory.
 */
import { once } from "node:events";
import type { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CSV, renderCell } from "../results/csv.ts";

export type Format = "table" | "json" | "csv";
export const FORMATS: readonly Format[] = ["table", "json", "csv"];

/** Rows the table measures its column widths on; later rows are cut to those widths. */
const TABLE_SAMPLE = 200;
const TABLE_CELL_MAX = 48;

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, "drain");
}

export async function writeRows(
  rows: AsyncIterable<Record<string, unknown>>,
  columns: readonly string[] | undefined,
  format: Format,
  out: Writable,
): Promise<number> {
  if (format === "json") return writeJson(rows, out);
  if (format === "csv") return writeCsv(rows, columns, out);
  return writeTable(rows, columns, out);
}

async function writeJson(rows: AsyncIterable<Record<string, unknown>>, out: Writable): Promise<number> {
  let count = 0;
  for await (const row of rows) await write(out, `${count++ === 0 ? "[\n" : ",\n"}${JSON.stringify(row)}`);
  await write(out, count === 0 ? "[]\n" : "\n]\n");
  return count;
}

async function writeCsv(
  rows: AsyncIterable<Record<string, unknown>>,
  columns: readonly string[] | undefined,
  out: Writable,
): Promise<number> {
  let count = 0;
  let names = columns;
  let encoder: Transform | undefined;
  let done: Promise<void> | undefined;
  const start = (header: readonly string[]) => {
    encoder = CSV.encoder(header.map((name) => ({ name })));
    done = pipeline(encoder, out, { end: false });
    return encoder;
  };
  for await (const row of rows) {
    names ??= Object.keys(row);
    const csv = encoder ?? start(names);
    if (!csv.write(row)) await once(csv, "drain");
    count++;
  }
  (encoder ?? start(names ?? [])).end();
  await done;
  return count;
}

function cell(value: unknown): string {
  const text = renderCell(value).replace(/[\r\n\t]+/g, " ");
  return text.length > TABLE_CELL_MAX ? `${text.slice(0, TABLE_CELL_MAX - 1)}…` : text;
}

async function writeTable(
  rows: AsyncIterable<Record<string, unknown>>,
  columns: readonly string[] | undefined,
  out: Writable,
): Promise<number> {
  const iterator = rows[Symbol.asyncIterator]();
  const sample: Record<string, unknown>[] = [];
  let exhausted = false;
  while (sample.length < TABLE_SAMPLE) {
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    sample.push(next.value);
  }
  const names = columns ?? Object.keys(sample[0] ?? {});
  const widths = names.map((name) => Math.max(name.length, ...sample.map((row) => cell(row[name]).length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => text.slice(0, widths[i]).padEnd(widths[i]))
      .join("  ")
      .trimEnd() + "\n";
  const rowLine = (row: Record<string, unknown>) => line(names.map((name) => cell(row[name])));
  await write(out, line(names));
  await write(out, line(widths.map((width) => "-".repeat(width))));
  for (const row of sample) await write(out, rowLine(row));
  let count = sample.length;
  if (!exhausted) {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      await write(out, rowLine(next.value));
      count++;
    }
  }
  return count;
}
