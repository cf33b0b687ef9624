/**
 * Sorting on averages. Two averages that are equal on paper can differ in their last bit once
 * summed in a different order (7.65 vs 7.6499999999999995), which would break the documented tie
 * order (e.g. "then name"). Ranking on the average rounded to 9 decimals keeps true ties tied;
 * rows still show the unrounded value. Plain $floor arithmetic: $round is not on every server.
 */
import type { Document } from "mongodb";

export function roundedKey(field: string, decimals = 9): Document {
  const scale = 10 ** decimals;
  return { $floor: { $add: [{ $multiply: [`$${field}`, scale] }, 0.5] } };
}

/** `$addFields` of rounded sort keys `<field>_rank` for the given average fields. */
export function rankKeys(...fields: string[]): Document {
  return { $addFields: Object.fromEntries(fields.map((f) => [`${f}_rank`, roundedKey(f)])) };
}
