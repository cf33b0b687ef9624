/**
 * Exported files read back by independent readers: Python's pyarrow (Parquet) and openpyxl
 * (Excel) from the test venv (test/requirements.txt), through test/support/read_export.py.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { venvPython } from "./tools.ts";

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, "test", "support", "read_export.py");

export interface ParquetReading {
  /** Column name → Arrow type as pyarrow names it (int64, double, timestamp[ms, tz=UTC], string, bool). */
  schema: Record<string, string>;
  row_groups: number;
  rows: Record<string, unknown>[];
}

export interface XlsxSheet {
  name: string;
  header: string[];
  rows: Record<string, unknown>[];
  /** Cells marked "quote prefix" (kept as text when edited). */
  quote_prefix: string[];
  frozen: string | null;
}

async function readWithPython(kind: "parquet" | "xlsx", file: Buffer): Promise<unknown> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "export-read-"));
  try {
    const target = path.join(dir, `file.${kind}`);
    await writeFile(target, file);
    const { stdout } = await run(venvPython(), [SCRIPT, kind, target], { maxBuffer: 256 * 1024 * 1024 });
    return JSON.parse(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const readParquet = (file: Buffer) => readWithPython("parquet", file) as Promise<ParquetReading>;
export const readXlsx = async (file: Buffer) => ((await readWithPython("xlsx", file)) as { sheets: XlsxSheet[] }).sheets;
