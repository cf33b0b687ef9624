/**
 * The catalogue of reports, in two layers that are replaced as wholes:
 *  - code reports: modules found under `catalogue/<collection>/*` (and any extra folders);
 *  - data reports: documents of `report_definitions`, validated and compiled.
 * Adding a report is adding a file or a document, with no list to edit. The layers can be swapped
 * while the process runs (see live.ts); a lookup always sees one consistent version of each.
 */
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

/** A module or definition that could not become a report, and why (shown in discovery). */
export interface RejectedReport {
  kind: "code" | "data";
  /** The report name when it could be read. */
  name?: string;
  /** Module path or definition id. */
  origin: string;
  errors: string[];
  /** A data definition rejected as it stands now, while its last good version keeps serving. */
  serving_version?: number;
}

export type ReportLayer = "code" | "data";

export class ReportRegistry implements ReportCatalogue {
  private code = new Map<string, ReportDefinition<any>>();
  private data = new Map<string, ReportDefinition<any>>();
  private rejectedByLayer: Record<ReportLayer, RejectedReport[]> = { code: [], data: [] };

  /** Adds one code report (tests, scripts); a second report with the same name is an error. */
  add(report: ReportDefinition<any>): void {
    const existing = this.code.get(report.name);
    if (existing && existing !== report) throw new Error(`report ${report.name} is defined twice`);
    this.code.set(report.name, report);
  }

  /**
   * Replaces a whole layer. Code reports win a name clash: a data definition cannot shadow a
   * report that developers wrote and tested, so a clashing definition is listed as rejected.
   */
  replace(layer: ReportLayer, reports: ReportDefinition<any>[], rejected: RejectedReport[] = []): void {
    const map = new Map<string, ReportDefinition<any>>();
    const refused = [...rejected];
    for (const report of reports) {
      if (layer === "data" && this.code.has(report.name)) {
        refused.push({
          kind: "data",
          name: report.name,
          origin: report.origin ?? report.name,
          errors: [`name ${JSON.stringify(report.name)} is taken by a code-defined report`],
        });
      } else if (map.has(report.name)) {
        refused.push({
          kind: layer,
          name: report.name,
          origin: report.origin ?? report.name,
          errors: [`report ${report.name} is defined twice`],
        });
      } else {
        map.set(report.name, report);
      }
    }
    if (layer === "code") this.code = map;
    else this.data = map;
    this.rejectedByLayer[layer] = refused;
  }

  get(name: string): ReportDefinition<any> | undefined {
    return this.code.get(name) ?? this.data.get(name);
  }

  require(name: string): ReportDefinition<any> {
    const report = this.get(name);
    if (!report) throw new UnknownReportError(name, this.names());
    return report;
  }

  list(): ReportDefinition<any>[] {
    const all = [...this.code.values(), ...[...this.data.values()].filter((r) => !this.code.has(r.name))];
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return this.list().map((r) => r.name);
  }

  rejected(): RejectedReport[] {
    return [...this.rejectedByLayer.code, ...this.rejectedByLayer.data];
  }
}
