/**
 * How a row the report's aggregation found becomes the row that is stored and exported: hidden
 * fields removed (results/hidden-fields.ts), then the numbers of columns that declare a precision
 * rounded in the row itself (results/precision.ts), so every output shows one value. The worker
 * shapes every row with it, and so does a check that compares stored rows with a fresh run of the
 * same aggregation (bench/chaos.ts).
 */
import type { Document } from "mongodb";
import type { Column } from "../reports/define.ts";
import { withoutHiddenFields } from "./hidden-fields.ts";
import { rowRounder } from "./precision.ts";

export function rowShaper(columns: readonly Column[], hiddenFields: Iterable<string>): (found: Document) => Document {
  const hidden = new Set(hiddenFields);
  const round = rowRounder(columns);
  return (found) => {
    const row = withoutHiddenFields(found, hidden);
    round?.(row);
    return row;
  };
}
