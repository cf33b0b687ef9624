/**
 * The CSV format (one of the export formats, see formats/format.ts): rows in, CSV bytes out.
 *
 * Format (RFC 4180): UTF-8 without BOM, CRLF between records, a header line with the report's
 * column names in order, fields quoted only when they contain a comma, a double quote, CR or LF
 * (quotes doubled inside). Cells:
 *   missing, null, undefined → empty
 *   string                   → as is (any Unicode)
 *   number                   → shortest round-trip decimal (1.5, 1e+21, NaN, Infinity)
 *   boolean                  → true / false
 *   Date                     → ISO 8601 UTC with milliseconds (2001-02-03T04:05:06.007Z)
 *   ObjectId                 → 24 hex digits
 *   Decimal128, Long, Int32, Double (BSON) → their exact decimal text
 *   Binary                   → base64
 *   array, nested document   → compact JSON, nested values by the same rules (dates as ISO
 *                              strings, ObjectIds as hex, Decimal128/Long as strings), so a
 *                              consumer can parse the cell back losslessly: ["Drama","Crime"]
 */
import type { Column } from "../reports/define.ts";
import { rowStream, type EncodeOptions, type FileFormat } from "./formats/format.ts";
import { TextBatches } from "./formats/text-batches.ts";
import { neutraliseFormula } from "./formula-guard.ts";

export const CSV_CONTENT_TYPE = "text/csv; charset=utf-8";

interface BsonLike {
  _bsontype?: string;
  toHexString?: () => string;
  toString(format?: string): string;
}

/** A BSON wrapper value rendered as text, or undefined for anything else. */
function bsonText(value: object): string | undefined {
  const type = (value as BsonLike)._bsontype;
  if (type === undefined) return undefined;
  if (type === "ObjectId" || type === "ObjectID") return (value as BsonLike).toHexString!();
  if (type === "Binary") return (value as BsonLike).toString("base64");
  return (value as BsonLike).toString();
}

/** JSON-ready copy of a nested value, applying the cell rules above inside arrays and documents. */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return value;
  const text = bsonText(value);
  if (text !== undefined) return text;
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = plain(inner);
  return out;
}

/**
 * A finite number as decimal text, the same text as String(number), but not through V8's number
 * string cache: String() and template literals remember each converted number in a table in old
 * space, so the strings of every row's unique numbers live long enough to be promoted, and old
 * space fills with them between full collections (measured with --trace-gc: the Excel export
 * promoted about 0.3 MB per scavenge, 90 bytes a row, this way). JSON.stringify writes the digits
 * into a fresh string that dies young. renderCell and the Excel writer use it.
 */
export const decimalText = (value: number): string => JSON.stringify(value);

export function renderCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  switch (typeof value) {
    case "string":
      return value;
    case "number":
      return Number.isFinite(value) ? decimalText(value) : String(value);
    case "bigint":
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? "" : value.toISOString();
      const text = bsonText(value);
      if (text !== undefined) return text;
      return JSON.stringify(plain(value));
    }
    default:
      return String(value);
  }
}

/** The row's cells in column order; fields the row lacks are empty. */
export function toRecord(row: Record<string, unknown>, columns: readonly string[], options: EncodeOptions = {}): string[] {
  const guard = options.formulaGuard !== false;
  const record = new Array<string>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const value = row[columns[i]];
    const cell = renderCell(value);
    record[i] = guard && typeof value === "string" ? neutraliseFormula(cell) : cell;
  }
  return record;
}

/** A field that needs quoting: it holds the delimiter, a quote, CR or LF (a lone CR or LF too: every reader ends a record there). */
const NEEDS_QUOTES = /[",\r\n]/;

/** One field as RFC 4180 writes it: as is, or quoted with its quotes doubled. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record: the fields in order, comma-separated, CRLF at the end. */
export function csvLine(fields: readonly string[]): string {
  let line = "";
  for (let i = 0; i < fields.length; i++) line += i === 0 ? csvField(fields[i]) : `,${csvField(fields[i])}`;
  return `${line}\r\n`;
}

/**
 * Each row becomes one line of text, gathered into 64 KiB writes. The line is built here rather
 * than by a general CSV library: the rules above are all the format needs, and a library's
 * per-field option objects, casts and arrays made about 3 KB of short-lived garbage a row (four
 * times the row itself), which sped up V8's young-generation collections enough that rows and
 * buffers waiting in the pipeline were promoted to old space and held there until a full
 * collection: the cause of the export's high peak RSS (docs/benchmarks.md).
 */
export const CSV: FileFormat = {
  name: "csv",
  extension: "csv",
  contentType: CSV_CONTENT_TYPE,
  encoder(columns: readonly Column[], options: EncodeOptions = {}) {
    const names = columns.map((column) => column.name);
    const guard = options.formulaGuard !== false;
    // Column names are guarded too: a data-defined report's are written by an admin, not by us.
    const header = csvLine(guard ? names.map(neutraliseFormula) : names);
    return rowStream((push) => {
      const batches = new TextBatches(push);
      // The header line is written even for an empty result.
      batches.add(header);
      return {
        add: (row) => batches.add(csvLine(toRecord(row, names, options))),
        finish: () => batches.flush(),
      };
    });
  },
};
