/**
 * Report aliases: the other names, routes and parameter names a report declares (`aliases` in
 * defineReport), resolved here to the report and its canonical parameter names. Pure functions
 * over the catalogue's list, so the API can resolve a request before validating it, and the
 * stored request only ever holds canonical names.
 */
import type { ReportDefinition } from "./define.ts";
import { ValidationError, validateParams, type FieldError } from "./validation.ts";
import type { Struct } from "superstruct";

/** Every POST route under /v1/ that runs `report`: `<collection>/<name>`, the same for each name alias, and its declared routes. */
export function routesOf(report: ReportDefinition<any>): string[] {
  const names = [report.name, ...(report.aliases?.names ?? [])];
  return [...new Set([...names.map((name) => `${report.collection}/${name}`), ...(report.aliases?.routes ?? [])])];
}

/** The report a `report_name` means: a canonical name first, else a declared name alias. */
export function resolveReportName(reports: readonly ReportDefinition<any>[], name: string): ReportDefinition<any> | undefined {
  return reports.find((r) => r.name === name) ?? reports.find((r) => r.aliases?.names?.includes(name));
}

/** The report a route (the path after /v1/, e.g. "movies/directors-per-comments") runs. */
export function resolveRoute(reports: readonly ReportDefinition<any>[], route: string): ReportDefinition<any> | undefined {
  return reports.find((r) => `${r.collection}/${r.name}` === route) ?? reports.find((r) => routesOf(r).includes(route));
}

/** The reports whose routes start with `<prefix>/` (what a 404 on /v1/<prefix>/… lists). */
/**
 * The names that answer under `/v1/<prefix>/` (the last segment of each route there), or, without a
 * prefix, the one-segment routes: what a 404 on such a route should offer, since a report's own name
 * is not a route under another collection.
 */
export function routesUnder(reports: readonly ReportDefinition<any>[], prefix?: string): string[] {
  const names = reports.flatMap((r) =>
    routesOf(r)
      .filter((route) => (prefix === undefined ? !route.includes("/") : route.startsWith(`${prefix}/`)))
      .map((route) => (prefix === undefined ? route : route.slice(prefix.length + 1))),
  );
  return [...new Set(names)].sort();
}

/** The report's parameter aliases as [alias, canonical] pairs. */
function parameterAliases(report: ReportDefinition<any>): [string, string][] {
  return Object.entries(report.aliases?.parameters ?? {});
}

/**
 * Renames aliased parameters to their canonical names. A canonical name given together with an
 * alias of it (or two aliases of one name) is an error naming both. Returns the renamed body and,
 * per canonical name, the alias the client used (to name it back in validation errors).
 */
export function canonicalParameters(
  report: ReportDefinition<any>,
  raw: Record<string, unknown>,
): { params: Record<string, unknown>; usedAliases: Map<string, string>; errors: FieldError[] } {
  const params: Record<string, unknown> = { ...raw };
  const usedAliases = new Map<string, string>();
  const errors: FieldError[] = [];
  for (const [alias, canonical] of parameterAliases(report)) {
    if (!Object.hasOwn(raw, alias)) continue;
    const other = Object.hasOwn(raw, canonical) ? canonical : usedAliases.get(canonical);
    if (other !== undefined) {
      errors.push({ field: alias, message: `${alias} is an alias of ${canonical}: give ${other} or ${alias}, not both` });
      continue;
    }
    params[canonical] = raw[alias];
    delete params[alias];
    usedAliases.set(canonical, alias);
  }
  return { params, usedAliases, errors };
}

/**
 * Validates a request body's parameters for `report`, aliases included: renamed to canonical
 * names, validated by the report's struct, with errors naming the fields as the client sent them.
 * Throws ValidationError.
 */
export function validateWithAliases(report: ReportDefinition<any>, raw: Record<string, unknown>): Record<string, unknown> {
  const { params, usedAliases, errors } = canonicalParameters(report, raw);
  if (errors.length > 0) throw new ValidationError(errors);
  try {
    return validateParams(params, report.params as Struct<Record<string, unknown>, any>);
  } catch (error) {
    if (!(error instanceof ValidationError) || usedAliases.size === 0) throw error;
    throw new ValidationError(
      error.errors.map((e) => {
        const [head, ...rest] = e.field.split(".");
        const alias = usedAliases.get(head);
        return alias ? { ...e, field: [alias, ...rest].join(".") } : e;
      }),
    );
  }
}

/** Names or routes that two reports claim (an empty list when the catalogue is unambiguous). */
export function aliasClashes(reports: readonly ReportDefinition<any>[]): string[] {
  const clashes: string[] = [];
  const names = new Map<string, string>();
  const routes = new Map<string, string>();
  for (const report of reports) {
    for (const name of [report.name, ...(report.aliases?.names ?? [])]) {
      const owner = names.get(name);
      if (owner && owner !== report.name) clashes.push(`name ${name}: ${owner} and ${report.name}`);
      names.set(name, report.name);
    }
    for (const route of routesOf(report)) {
      const owner = routes.get(route);
      if (owner && owner !== report.name) clashes.push(`route /v1/${route}: ${owner} and ${report.name}`);
      routes.set(route, report.name);
    }
  }
  return clashes;
}

/** What discovery and the OpenAPI document show of a report's aliases. */
export function describeAliases(report: ReportDefinition<any>): { names: string[]; routes: string[]; parameters: Record<string, string> } {
  return {
    names: [...(report.aliases?.names ?? [])],
    routes: routesOf(report).map((route) => `/v1/${route}`),
    parameters: { ...(report.aliases?.parameters ?? {}) },
  };
}
