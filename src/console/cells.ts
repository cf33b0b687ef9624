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
