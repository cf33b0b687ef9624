/**
 * Sorting on averages. A column that declares a precision shows its value rounded
 * (results/precision.ts), so the pipeline ranks on the same rounded value, computed with the same
 * arithmetic: rows come in the order of what they show, and two averages equal on paper but
 * different in their last bit (7.65 vs 7.6499999999999995) stay tied, keeping the documented tie
 * order (e.g. "then name"). Plain $floor arithmetic: $round is not on every server, and rounds
 * halves to even.
 */
import type { Document } from "mongodb";

/** Decimals an average IMDb rating shows (and is ranked on). */
export const RATING_PRECISION = 2;
/** Decimals an average runtime in minutes shows. */
export const RUNTIME_PRECISION = 1;

export function roundedKey(field: string, decimals: number): Document {
  const scale = 10 ** decimals;
  return { $floor: { $add: [{ $multiply: [`$${field}`, scale] }, 0.5] } };
}

/** `$addFields` of rounded sort keys `<field>_rank`, each field rounded to its decimals. */
export function rankKeys(decimals: Record<string, number>): Document {
  return { $addFields: Object.fromEntries(Object.entries(decimals).map(([f, places]) => [`${f}_rank`, roundedKey(f, places)])) };
}
