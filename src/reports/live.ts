/**
 * Keeps a ReportRegistry current while the process runs: code modules (the built-in catalogue
 * plus REPORTS_DIRS) and report_definitions documents are re-read every CATALOGUE_RELOAD_MS, so
 * API and workers pick up new or changed reports without a restart.
 *
 * Why polling and not a change stream: the process already holds one change stream (requests),
 * and on the test server each idle stream busy-loops; definitions change rarely and a re-read is
 * one small query, so a short period costs less than a second stream and also sees changes made
 * while the process was down.
 */
import type { Collection, Document } from "mongodb";
import type { Logger } from "../log.ts";
import { CATALOGUE_DIR, loadCodeModules, type ModuleCache } from "./code-modules.ts";
import { readDefinitions, seedDefinitions } from "./data-defined/store.ts";
import { DefinitionVersions } from "./data-defined/versions.ts";
import type { ReportDefinition } from "./define.ts";
import type { RejectedReport, ReportRegistry } from "./registry.ts";
import { loadSeedDefinitions } from "./seed-definitions/index.ts";

export interface LiveCatalogueOptions {
  definitions: Collection<Document>;
  /** Their versions: what serves when a current definition is invalid, and each report's version number. */
  versions: DefinitionVersions;
  /** Extra folders of code modules, laid out like catalogue/ (<collection>/<report>.ts|js). */
  extraDirs?: readonly string[];
  /** Re-read period; 0 loads once at start. */
  reloadMs: number;
  log: Logger;
  /** Insert the shipped definitions at start (default true). */
  seed?: boolean;
  /** Told the whole catalogue after each load that changed it (e.g. to ensure declared indexes). */
  onChange?: (reports: ReportDefinition<any>[]) => void;
}

export class LiveCatalogue {
  private readonly modules: ModuleCache = new Map();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private definitionsFingerprint = "";
  private running: Promise<void> | undefined;

  constructor(
    readonly registry: ReportRegistry,
    private readonly options: LiveCatalogueOptions,
  ) {}

  /** Seeds, loads everything once, then keeps re-reading. A broken built-in module stops start-up. */
  async start(): Promise<void> {
    const builtIn = await loadCodeModules([CATALOGUE_DIR], this.modules);
    if (builtIn.rejected.length > 0) {
      throw new Error(builtIn.rejected.map((r) => `${r.origin}: ${r.errors.join("; ")}`).join("\n"));
    }
    if (this.options.seed !== false) {
      const inserted = await seedDefinitions(this.options.definitions, await loadSeedDefinitions(), this.options.versions.policy);
      if (inserted.length > 0) this.options.log.info("catalogue.seeded", { definitions: inserted });
    }
    await this.refresh();
    this.schedule();
  }

  /** Re-reads both layers now (also what the timer runs). Concurrent calls share one run. */
  refresh(): Promise<void> {
    this.running ??= this.reload().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Re-reads after a write this process just made: unlike refresh(), never answers with a reload
   * that began before the write (and so may not have seen it).
   */
  async reloadAfterWrite(): Promise<void> {
    await this.running?.catch(() => undefined);
    return this.refresh();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed || this.options.reloadMs <= 0) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((error) => this.options.log.warn("catalogue.reload_failed", { error }))
        .finally(() => this.schedule());
    }, this.options.reloadMs);
    // Reloading alone must not keep a process alive.
    this.timer.unref?.();
  }

  private async reload(): Promise<void> {
    const code = await loadCodeModules([CATALOGUE_DIR, ...(this.options.extraDirs ?? [])], this.modules);
    // Swap only on change, so an unchanged catalogue keeps its objects (and lookups stay cheap).
    if (code.changed || this.definitionsFingerprint === "") {
      this.registry.replace("code", code.reports, code.rejected);
      this.logRejected("code", code.rejected);
      this.options.log.info("catalogue.code_loaded", { reports: code.reports.map((r) => r.name) });
    }
    const documents = await readDefinitions(this.options.definitions);
    const fingerprint = JSON.stringify(documents);
    if (code.changed || fingerprint !== this.definitionsFingerprint) {
      const data = await this.options.versions.load(documents);
      this.registry.replace("data", data.reports, data.rejected);
      const rejected = this.registry.rejected().filter((r) => r.kind === "data");
      this.logRejected("data", rejected);
      this.options.log.info("catalogue.definitions_loaded", { reports: data.reports.map((r) => r.name), rejected: rejected.length });
      this.definitionsFingerprint = fingerprint;
      this.options.onChange?.(this.registry.list());
    }
  }

  private logRejected(kind: string, rejected: RejectedReport[]): void {
    for (const entry of rejected)
      this.options.log.warn("catalogue.rejected", { kind, name: entry.name, origin: entry.origin, errors: entry.errors });
  }
}
