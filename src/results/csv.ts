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
import { stringify } from "csv-stringify/sync";
import type { Column } from "../reports/define.ts";
import { ROWS_IN_FLIGHT, rowStream, type EncodeOptions, type FileFormat } from "./formats/format.ts";
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

/**
 * Records are stringified ROWS_IN_FLIGHT at a time (csv-stringify's synchronous API, the product's
 * CSV writer): one call per batch rather than a stream step per row, and text gathered into 64 KiB
 * writes. The cells are already text (toRecord), so csv-stringify only quotes and joins them. A
 * small batch keeps few rows alive at once: with hundreds waiting, V8 saw most recent rows survive
 * and began allocating them straight into old space, the cause of the export's occasional high
 * peak RSS (docs/benchmarks.md).
 */
export const CSV: FileFormat = {
  name: "csv",
  extension: "csv",
  contentType: CSV_CONTENT_TYPE,
  encoder(columns: readonly Column[], options: EncodeOptions = {}) {
    const names = columns.map((column) => column.name);
    const guard = options.formulaGuard !== false;
    const settings = {
      // Records are arrays (toRecord), so the keys are positions; the headers are the column names.
      // Column names are guarded too: a data-defined report's are written by an admin, not by us.
      columns: names.map((name, i) => ({ key: String(i), header: guard ? neutraliseFormula(name) : name })),
      record_delimiter: "\r\n",
      // csv-stringify quotes a field containing the whole record delimiter (CRLF) but not a lone CR
      // or LF, which every CSV reader would take as the end of the record.
      quoted_match: /[\r\n]/,
    };
    // The options of every call are made here, once per file, never per batch: Node 20's V8 gives
    // each evaluation of `{ ...settings, header }` (a spread followed by a property) a new hidden
    // class, and hidden classes, their descriptors and the for-in key cache csv-stringify then
    // builds for them live in old space until a full collection. Made per batch they added about
    // 10 MB of old space per 1,000,000 rows, so the peak grew with the file (docs/benchmarks.md).
    const withHeader = { ...settings, header: true };
    const withoutHeader = { ...settings, header: false };
    return rowStream((push) => {
      const batches = new TextBatches(push);
      let records: string[][] = [];
      let header = true;
      const write = () => {
        batches.add(stringify(records, header ? withHeader : withoutHeader));
        header = false;
        records = [];
      };
      return {
        add(row) {
          records.push(toRecord(row, names, options));
          if (records.length >= ROWS_IN_FLIGHT) write();
        },
        finish() {
          // The header line is written even for an empty result.
          if (records.length > 0 || header) write();
          batches.flush();
        },
      };
    });
  },
};
