/**
 * Rounds the numbers of columns that declare a precision, in the row itself, before the row is
 * stored or written anywhere: the JSON pages and every file then hold one value (an average of
 * 7.6499999999999995 declared with precision 2 is 7.65 everywhere). Only JavaScript numbers are
 * rounded; Decimal128 and Long values are exact already and left alone.
 */
import type { Column } from "../reports/define.ts";

/**
 * `value` rounded to `places` decimals, halves up: ⌊value × 10^places + 0.5⌋ / 10^places. This is
 * the arithmetic the pipelines rank averages with (reports/ranking.ts), done in the same IEEE
 * doubles, so rows come in the order of the values they show. A number too large to have
 * decimals left is returned as it is.
 */
export function roundTo(value: number, places: number): number {
  const scale = 10 ** places;
  const shifted = Math.floor(value * scale + 0.5);
  if (!Number.isSafeInteger(shifted)) return value;
  // + 0 turns a rounded -0 into 0.
  return shifted / scale + 0;
}

/** A function that rounds a row's declared columns in place, or null when no column declares a precision. */
export function rowRounder(columns: readonly Column[]): ((row: Record<string, unknown>) => void) | null {
  const declared = columns.filter((column) => column.precision !== undefined);
  if (declared.length === 0) return null;
  return (row) => {
    for (const { name, precision } of declared) {
      const value = row[name];
      if (typeof value === "number") row[name] = roundTo(value, precision!);
    }
  };
}
