/**
 * How result rows are shown: cell text (arrays and nested documents readable), which columns are
 * numeric (right-aligned, chartable), and whether a page of rows makes a chart and which kind.
 * Pure: unit-tested without a browser.
 */
export type Row = Record<string, unknown>;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Text for one cell: numbers with digit grouping, ISO dates shortened, lists comma-separated, documents as compact JSON. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number")
    return Number.isInteger(value) ? value.toLocaleString("en") : value.toLocaleString("en", { maximumFractionDigits: 3 });
  if (typeof value === "string") return ISO_DATE.test(value) ? value.replace("T00:00:00.000Z", "").replace(/\.000Z$/, "Z") : value;
  if (Array.isArray(value))
    return value.every((v) => v === null || typeof v !== "object") ? value.map(formatCell).join(", ") : JSON.stringify(value);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A column is numeric when every present value on the page is a number (and at least one is). */
export function isNumericColumn(rows: Row[], column: string): boolean {
  const present = rows.map((row) => row[column]).filter((v) => v !== null && v !== undefined);
  return present.length > 0 && present.every((v) => typeof v === "number");
}

export interface ChartPlan {
  kind: "bar" | "line";
  label: string;
  values: string[];
}

/** Values such as 2012, "2012", "2012-03", "2012-03-01": a time axis. */
const PERIOD = /^\d{4}(-\d{2}(-\d{2})?)?$/;

/**
 * A chart for rows with a label column (the first non-numeric column, or a period) and numeric
 * columns: a line when the labels are time periods (comments-per-month, movies-per-period), else
 * bars. Null when the rows have nothing to chart.
 */
export function chartPlan(columns: string[], rows: Row[]): ChartPlan | null {
  if (rows.length === 0) return null;
  const isPeriodColumn = (column: string) =>
    /^(period|year|month|decade|date|day)$/i.test(column) && rows.every((row) => PERIOD.test(String(row[column] ?? "")));
  const periodColumn = columns.find(isPeriodColumn);
  const label = periodColumn ?? columns.find((c) => !isNumericColumn(rows, c) && rows.some((row) => typeof row[c] === "string"));
  if (!label) return null;
  const values = columns.filter((c) => c !== label && isNumericColumn(rows, c) && !/(^|_)id$/.test(c) && c !== "year");
  if (values.length === 0) return null;
  return { kind: periodColumn ? "line" : "bar", label, values };
}

/** Most bars a chart draws: beyond this a bar chart is a solid block. */
export const CHART_BARS = 25;

export interface ChartSeries {
  labels: string[];
  values: (number | null)[];
  /** What the chart shows, when it is not simply every row ("the top 25 of 480 by comments; …"). */
  note?: string;
}

/** Averages, ratings and ranks do not add up: their "rest" is left out instead of summed into one bar. */
const NOT_ADDITIVE = /(average|avg|mean|rating|rank|ratio|rate|percent|share|min|max|median)/i;

/**
 * The bars to draw for `value`: every row when they fit, else the CHART_BARS largest values and, for
 * a value that adds up (counts, totals), one last bar summing the rest, so a 480-row result is still
 * readable and says what it shows. Lines (time periods) keep every point.
 */
export function chartSeries(plan: ChartPlan, rows: Row[], value: string, limit = CHART_BARS): ChartSeries {
  const numberOf = (row: Row) => (typeof row[value] === "number" ? row[value] : null);
  const labelOf = (row: Row) => String(row[plan.label] ?? "");
  if (plan.kind === "line") {
    // A time axis reads left to right from the earliest period.
    const ordered = [...rows].sort((a, b) => labelOf(a).localeCompare(labelOf(b)));
    return { labels: ordered.map(labelOf), values: ordered.map(numberOf) };
  }
  if (rows.length <= limit) return { labels: rows.map(labelOf), values: rows.map(numberOf) };
  const ranked = [...rows].sort((a, b) => (numberOf(b) ?? -Infinity) - (numberOf(a) ?? -Infinity));
  const top = ranked.slice(0, limit);
  const rest = ranked.slice(limit);
  const labels = top.map(labelOf);
  const values = top.map(numberOf);
  let note = `The top ${limit} of ${rows.length} rows by ${value}`;
  if (NOT_ADDITIVE.test(value)) {
    note += `; the other ${rest.length} are left out (an ${value} does not add up).`;
  } else {
    labels.push(`Other (${rest.length} rows)`);
    values.push(rest.reduce((sum, row) => sum + (numberOf(row) ?? 0), 0));
    note += `; the last bar sums the other ${rest.length}.`;
  }
  return { labels, values, note };
}

const RANGE_SIGNS: Record<string, string> = { $gt: ">", $gte: "≥", $lt: "<", $lte: "≤" };

/** A range bound for reading: dates at midnight UTC as the day alone. */
function boundText(value: unknown): string {
  return typeof value === "string" && ISO_DATE.test(value)
    ? formatCell(value)
    : typeof value === "number"
      ? String(value)
      : JSON.stringify(value);
}

/**
 * A request's parameters in words, as the worker will apply them: `released: ≥ 1931-01-01 and < 1960-01-01`,
 * `directors: include A, B; exclude C`, `top: 5`. Stored ranges are normalised (a year "> 1930" is stored as
 * "≥ 1931-01-01"), so this is how the service read what was typed.
 */
export function describeParams(params: Record<string, unknown> | undefined): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > 0 && entries.every(([op]) => op in RANGE_SIGNS)) {
        parts.push(`${name}: ${entries.map(([op, bound]) => `${RANGE_SIGNS[op]} ${boundText(bound)}`).join(" and ")}`);
        continue;
      }
      const list = value as { include?: unknown[]; exclude?: unknown[] };
      if (entries.every(([key]) => key === "include" || key === "exclude")) {
        const lists = [
          list.include?.length ? `include ${list.include.join(", ")}` : "",
          list.exclude?.length ? `exclude ${list.exclude.join(", ")}` : "",
        ];
        parts.push(`${name}: ${lists.filter(Boolean).join("; ")}`);
        continue;
      }
    }
    parts.push(`${name}: ${Array.isArray(value) ? value.join(", ") : typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  }
  return parts.join(" · ");
}
