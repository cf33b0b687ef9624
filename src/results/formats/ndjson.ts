/**
 * NDJSON (newline-delimited JSON): one row a line, UTF-8, `\n` after every row. A line is the
 * row exactly as the JSON pages show it (JSON.stringify of the stored row: dates as ISO 8601
 * text, ObjectIds as hex), with the report's columns in order and a missing field as null, so
 * every line has every column and a data tool reads one schema.
 */
import type { Column } from "../../reports/define.ts";
import { rowStream, type FileFormat } from "./format.ts";
import { TextBatches } from "./text-batches.ts";

/** One row as its NDJSON line, newline included. */
export function ndjsonLine(row: Record<string, unknown>, names: readonly string[]): string {
  const line: Record<string, unknown> = {};
  for (const name of names) line[name] = row[name] ?? null;
  return `${JSON.stringify(line)}\n`;
}

export const NDJSON: FileFormat = {
  name: "ndjson",
  extension: "ndjson",
  contentType: "application/x-ndjson; charset=utf-8",
  encoder(columns: readonly Column[]) {
    const names = columns.map((column) => column.name);
    return rowStream((push) => {
      const batches = new TextBatches(push);
      return { add: (row) => batches.add(ndjsonLine(row, names)), finish: () => batches.flush() };
    });
  },
};
