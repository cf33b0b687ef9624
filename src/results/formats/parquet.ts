/**
 * Apache Parquet, written with hyparquet-writer (pure JavaScript, no native or WebAssembly code,
 * so the Deno worker runs it too; chosen by measurement, see docs/benchmarks.md). Rows are
 * gathered into a row group of at most ROW_GROUP_ROWS rows or about ROW_GROUP_BYTES of values,
 * which is encoded (Snappy), handed on and forgotten: memory holds one row group, whatever the
 * result's length.
 *
 * The schema is the report's declared column types, every column optional (null for missing):
 *   string → UTF-8 text (a non-string value as the CSV writes it: 1999 as "1999", ObjectId hex, …)
 *   integer → INT64           number → DOUBLE          boolean → BOOLEAN
 *   date → TIMESTAMP(MILLIS, UTC)                      json → UTF-8 JSON text
 *   no type declared → UTF-8 text, each value as the CSV writes it
 * A Parquet column has one type for the whole file, and its type is fixed before the first row
 * group is written, while the rest of the result is still unread. So a column is typed only by
 * its declaration, never by the values seen so far (a later row could contradict them):
 * - a mixed column (numbers and text, such as years with a stray "2005è") is declared `string`
 *   or left undeclared: a text column, its numbers as their decimal text;
 * - a typed column with gaps stays typed: null, a missing field and empty text ("", how some data
 *   sets spell "no value", and what the CSV writes for null too) are null.
 * Any other value that does not fit its column's declared type (1.5 in an integer column, "n/a" in
 * a number column) fails the export with the row, the column and the value, rather than being
 * dropped or changed.
 */
import type { Transform } from "node:stream";
import { ByteWriter, ParquetWriter, type SchemaElement } from "hyparquet-writer";
import type { Column, ColumnType } from "../../reports/define.ts";
import { renderCell } from "../csv.ts";
import { FormatLimitError, rowStream, type FileFormat, type RowWriter } from "./format.ts";

/** Rows per row group, at most. */
export const ROW_GROUP_ROWS = 8_192;
/** A row group also closes once its values come to about this many bytes (wide text columns). */
export const ROW_GROUP_BYTES = 8 * 1024 * 1024;

type Converted = string | number | bigint | boolean | Date | null;

interface BsonValue {
  _bsontype?: string;
  toString(): string;
}

function bsonType(value: unknown): string | undefined {
  return typeof value === "object" && value !== null ? (value as BsonValue)._bsontype : undefined;
}

const NUMERIC_BSON = new Set(["Decimal128", "Long", "Int32", "Double"]);

function schemaElement(column: Column): SchemaElement {
  const base = { name: column.name, repetition_type: "OPTIONAL" as const };
  switch (column.type) {
    case "integer":
      return { ...base, type: "INT64" };
    case "number":
      return { ...base, type: "DOUBLE" };
    case "boolean":
      return { ...base, type: "BOOLEAN" };
    case "date":
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MILLIS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
      };
    default:
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
  }
}

/** Columns written as UTF-8 text, where an empty string is a value of its own. */
function isTextType(type: ColumnType | undefined): boolean {
  return type === undefined || type === "string" || type === "json";
}

/** `value` as its column's Parquet value; undefined when it does not fit the declared type. */
function convert(value: unknown, type: ColumnType | undefined): Converted | undefined {
  if (value === null || value === undefined) return null;
  if (value === "" && !isTextType(type)) return null;
  switch (type) {
    case "integer": {
      if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : undefined;
      if (typeof value === "bigint") return value;
      const bson = bsonType(value);
      if (bson === "Long" || bson === "Int32") return BigInt(String(value));
      if (bson === "Decimal128" || bson === "Double") {
        const text = String(value);
        return /^-?\d+$/.test(text) ? BigInt(text) : undefined;
      }
      return undefined;
    }
    case "number":
      if (typeof value === "number") return value;
      if (typeof value === "bigint") return Number(value);
      return NUMERIC_BSON.has(bsonType(value) ?? "") ? Number(String(value)) : undefined;
    case "boolean":
      return typeof value === "boolean" ? value : undefined;
    case "date":
      if (!(value instanceof Date)) return undefined;
      return Number.isNaN(value.getTime()) ? null : value;
    default:
      return typeof value === "string" ? value : renderCell(value);
  }
}

/** About how many bytes a value takes in a row group (for ROW_GROUP_BYTES). */
function weight(value: Converted): number {
  return typeof value === "string" ? value.length * 2 + 8 : 8;
}

class ParquetEncoder implements RowWriter {
  private readonly bytes: ByteWriter;
  private readonly writer: ParquetWriter;
  private values: Converted[][];
  private groupRows = 0;
  private groupBytes = 0;
  private rowNumber = 0;

  constructor(
    push: (chunk: Buffer) => void,
    private readonly columns: readonly Column[],
    private readonly rowGroupRows: number,
  ) {
    this.bytes = new ByteWriter(1024 * 1024);
    // After each row group (and at the end) the encoded bytes leave; the buffer is reused.
    const handOn = () => {
      if (this.bytes.index === 0) return;
      push(Buffer.from(this.bytes.getBytes()));
      this.bytes.index = 0;
    };
    // ParquetWriter calls the Writer's optional flush after every row group.
    Object.assign(this.bytes, { flush: handOn, finish: handOn });
    const schema: SchemaElement[] = [{ name: "root", num_children: columns.length }, ...columns.map(schemaElement)];
    this.writer = new ParquetWriter({ writer: this.bytes, schema, codec: "SNAPPY" });
    this.values = columns.map(() => []);
  }

  add(row: Record<string, unknown>): void {
    this.rowNumber += 1;
    for (let i = 0; i < this.columns.length; i++) {
      const column = this.columns[i];
      const value = row[column.name];
      const converted = convert(value, column.type);
      if (converted === undefined) {
        throw new FormatLimitError(
          `row ${this.rowNumber}, column ${column.name}: ${describe(value)} is not a value of the column's declared type ${column.type}`,
        );
      }
      this.values[i].push(converted);
      this.groupBytes += weight(converted);
    }
    this.groupRows += 1;
    if (this.groupRows >= this.rowGroupRows || this.groupBytes >= ROW_GROUP_BYTES) this.writeGroup();
  }

  private writeGroup(): void {
    if (this.groupRows === 0) return;
    const columnData = this.columns.map((column, i) => ({ name: column.name, data: this.values[i] }));
    synchronously(this.writer.write({ columnData, rowGroupSize: this.groupRows }));
    this.values = this.columns.map(() => []);
    this.groupRows = 0;
    this.groupBytes = 0;
  }

  finish(): void {
    this.writeGroup();
    synchronously(this.writer.finish());
  }
}

/**
 * ParquetWriter's write and finish return a promise only for an asynchronous Writer; ours (the
 * ByteWriter with handOn) is synchronous, so a promise here would be output that RowWriter's
 * synchronous add/finish could not wait for: fail loudly rather than lose it.
 */
function synchronously(result: void | Promise<void>): void {
  if (result instanceof Promise) throw new Error("hyparquet-writer returned a promise: the Parquet encoder writes synchronously");
}

function describe(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : renderCell(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface ParquetOptions {
  /** Rows per row group, at most (default ROW_GROUP_ROWS; smaller in tests). */
  rowGroupRows?: number;
}

export const PARQUET: FileFormat & { encoder(columns: readonly Column[], options?: ParquetOptions): Transform } = {
  name: "parquet",
  extension: "parquet",
  contentType: "application/vnd.apache.parquet",
  encoder(columns: readonly Column[], options: ParquetOptions = {}) {
    return rowStream((push) => new ParquetEncoder(push, columns, options.rowGroupRows ?? ROW_GROUP_ROWS));
  },
};
