/**
 * The catalogue of reports. Code-defined reports are discovered from `catalogue/<collection>/*`
 * at start: adding a report is adding a file, with no list to edit.
 */
import { readdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import type { ReportDefinition } from "./define.ts";

export class UnknownReportError extends Error {
  override name = "UnknownReportError";
  constructor(
    readonly reportName: string,
    readonly available: string[],
  ) {
    super(`unknown report ${JSON.stringify(reportName)}; available: ${available.join(", ")}`);
  }
}

export interface ReportCatalogue {
  get(name: string): ReportDefinition<any> | undefined;
  /** Like get, but throws UnknownReportError listing what exists. */
  require(name: string): ReportDefinition<any>;
  list(): ReportDefinition<any>[];
}

export class ReportRegistry implements ReportCatalogue {
  private readonly reports = new Map<string, ReportDefinition<any>>();

  add(report: ReportDefinition<any>): void {
    const existing = this.reports.get(report.name);
    if (existing && existing !== report) throw new Error(`report ${report.name} is defined twice`);
    this.reports.set(report.name, report);
  }

  get(name: string): ReportDefinition<any> | undefined {
    return this.reports.get(name);
  }

  require(name: string): ReportDefinition<any> {
    const report = this.reports.get(name);
    if (!report) throw new UnknownReportError(name, this.names());
    return report;
  }

  list(): ReportDefinition<any>[] {
    return [...this.reports.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return this.list().map((r) => r.name);
  }
}

export const CATALOGUE_DIR = fileURLToPath(new URL("./catalogue/", import.meta.url));

/** Report modules: `.ts` when run from source (Deno), `.js` when compiled (Node). */
function isReportModule(file: string): boolean {
  if (file.startsWith("_") || file.endsWith(".d.ts")) return false;
  return file.endsWith(".ts") || file.endsWith(".js");
}

/**
 * Imports every report module under `dir` (one level of collection folders). A module must
 * default-export a definition; one that does not is a programming error and stops start-up with
 * its path, rather than silently missing from the catalogue.
 */
export async function loadCodeReports(registry: ReportRegistry, dir = CATALOGUE_DIR): Promise<void> {
  const collections = await readdir(dir, { withFileTypes: true });
  for (const entry of collections.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const files = (await readdir(path.join(dir, entry.name))).filter(isReportModule).sort();
    for (const file of files) {
      const modulePath = path.join(dir, entry.name, file);
      const module = (await import(pathToFileURL(modulePath).href)) as { default?: ReportDefinition<any> };
      const report = module.default;
      if (!report || typeof report.pipeline !== "function") {
        throw new Error(`${modulePath} does not default-export a report (use defineReport)`);
      }
      if (report.collection !== entry.name) {
        throw new Error(`${modulePath}: report ${report.name} runs on ${report.collection} but lives in folder ${entry.name}`);
      }
      registry.add(report);
    }
  }
}

export async function createRegistry(dir = CATALOGUE_DIR): Promise<ReportRegistry> {
  const registry = new ReportRegistry();
  await loadCodeReports(registry, dir);
  return registry;
}
