/**
 * Finds and imports code-defined report modules: `<dir>/<collection>/<name>.ts|js`, one report
 * per module, default-exported with defineReport. Re-scanning imports only new or changed files,
 * so extra folders (REPORTS_DIRS) can receive modules while the service runs.
 */
import { readdir, stat } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import { validate } from "superstruct";
import { aliasProblems, type ReportDefinition } from "./define.ts";
import { toJsonSchema } from "./json-schema.ts";
import { toFieldErrors } from "./validation.ts";
import { ReportRegistry, type RejectedReport } from "./registry.ts";

export const CATALOGUE_DIR = fileURLToPath(new URL("./catalogue/", import.meta.url));

/** Report modules: `.ts` when run from source (Deno), `.js` when compiled (Node). */
function isReportModule(file: string): boolean {
  if (file.startsWith("_") || file.startsWith(".") || file.endsWith(".d.ts")) return false;
  return file.endsWith(".ts") || file.endsWith(".js");
}

interface Loaded {
  mtimeMs: number;
  report?: ReportDefinition<any>;
  rejected?: RejectedReport;
}

/** Remembers what each file gave at which mtime, so an unchanged file is not imported again. */
export type ModuleCache = Map<string, Loaded>;

async function listModules(dir: string): Promise<{ collection: string; file: string }[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // A configured folder that does not exist (yet) holds no reports; it is not fatal.
    if ((error as { code?: string }).code === "ENOENT") return [];
    throw error;
  }
  const found: { collection: string; file: string }[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const files = (await readdir(path.join(dir, entry.name))).filter(isReportModule).sort();
    for (const file of files) found.push({ collection: entry.name, file: path.join(dir, entry.name, file) });
  }
  return found;
}

/**
 * What the API relies on beyond the type: parameters that discovery can describe (else
 * /v1/report-definitions and /openapi.json would fail for every report) and a valid example.
 */
function checkReport(report: ReportDefinition<any>): string[] {
  const problems: string[] = [...aliasProblems(report)];
  try {
    toJsonSchema(report.params);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (report.example !== undefined) {
    const [error] = validate(report.example, report.params, { coerce: true });
    if (error) problems.push(...toFieldErrors(error, ["example"]).map((e) => `${e.field}: ${e.message}`));
  }
  return problems;
}

async function importReport(file: string, collection: string, mtimeMs: number, reimport: boolean): Promise<Loaded> {
  // A changed file needs a new URL: ES modules are cached by URL for the life of the process.
  const url = pathToFileURL(file).href + (reimport ? `?v=${mtimeMs}` : "");
  try {
    const module = (await import(url)) as { default?: ReportDefinition<any> };
    const report = module.default;
    if (!report || typeof report.pipeline !== "function" || typeof report.name !== "string") {
      return { mtimeMs, rejected: { kind: "code", origin: file, errors: ["does not default-export a report (use defineReport)"] } };
    }
    if (report.collection !== collection) {
      return {
        mtimeMs,
        rejected: {
          kind: "code",
          name: report.name,
          origin: file,
          errors: [`report ${report.name} runs on ${report.collection} but lives in folder ${collection}`],
        },
      };
    }
    const problems = checkReport(report);
    if (problems.length > 0) return { mtimeMs, rejected: { kind: "code", name: report.name, origin: file, errors: problems } };
    return { mtimeMs, report: { ...report, origin: file, kind: "code" } };
  } catch (error) {
    return { mtimeMs, rejected: { kind: "code", origin: file, errors: [error instanceof Error ? error.message : String(error)] } };
  }
}

export async function loadCodeModules(
  dirs: string[],
  cache: ModuleCache = new Map(),
): Promise<{ reports: ReportDefinition<any>[]; rejected: RejectedReport[]; changed: boolean }> {
  const reports: ReportDefinition<any>[] = [];
  const rejected: RejectedReport[] = [];
  const seen = new Set<string>();
  let changed = false;
  for (const dir of dirs) {
    for (const { collection, file } of await listModules(dir)) {
      seen.add(file);
      const { mtimeMs } = await stat(file);
      let loaded = cache.get(file);
      if (!loaded || loaded.mtimeMs !== mtimeMs) {
        loaded = await importReport(file, collection, mtimeMs, loaded !== undefined);
        cache.set(file, loaded);
        changed = true;
      }
      if (loaded.report) reports.push(loaded.report);
      if (loaded.rejected) rejected.push(loaded.rejected);
    }
  }
  for (const file of [...cache.keys()]) {
    if (!seen.has(file)) {
      cache.delete(file);
      changed = true;
    }
  }
  return { reports, rejected, changed };
}

/**
 * Imports every report module under `dir` (one level of collection folders) into the registry.
 * Start-up uses this for the built-in catalogue, where a broken module is a programming error:
 * it stops the process with its path rather than silently missing from the catalogue.
 */
export async function loadCodeReports(registry: ReportRegistry, dir = CATALOGUE_DIR): Promise<void> {
  const { reports, rejected } = await loadCodeModules([dir]);
  if (rejected.length > 0) throw new Error(rejected.map((r) => `${r.origin}: ${r.errors.join("; ")}`).join("\n"));
  for (const report of reports) registry.add(report);
}

export async function createRegistry(dir = CATALOGUE_DIR): Promise<ReportRegistry> {
  const registry = new ReportRegistry();
  await loadCodeReports(registry, dir);
  return registry;
}
