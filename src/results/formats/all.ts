/** Every export format by name (see format.ts): the one place a new format is added. */
import { CSV } from "../csv.ts";
import type { FileFormat, FormatName } from "./format.ts";
import { NDJSON } from "./ndjson.ts";
import { PARQUET } from "./parquet.ts";
import { XLSX } from "./xlsx.ts";

export const FILE_FORMATS: Readonly<Record<FormatName, FileFormat>> = { csv: CSV, ndjson: NDJSON, xlsx: XLSX, parquet: PARQUET };
