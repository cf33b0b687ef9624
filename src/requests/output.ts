/**
 * What a request's `output` asks for: rows paged through the API (json), stored files, or both.
 * `output` is one name (json, csv, both, ndjson, xlsx, parquet) or a list of parts (json and
 * file formats, e.g. ["json", "xlsx", "parquet"]); every file goes to the same sink.
 */
import { FORMATS, type FormatName } from "../results/formats/format.ts";

/** The names `output` may be: json rows, one file, or both (json rows and the CSV). */
export const OUTPUTS = ["json", "csv", "both", "ndjson", "xlsx", "parquet"] as const;
export type NamedOutput = (typeof OUTPUTS)[number];
/** What a list may hold: json rows and the file formats. */
export const OUTPUT_PARTS = ["json", ...FORMATS] as const;
export type OutputPart = (typeof OUTPUT_PARTS)[number];
export type OutputKind = NamedOutput | OutputPart[];

export interface OutputPlan {
  /** Rows are stored for paging through the API. */
  rows: boolean;
  /** Files written, each once, in this order. */
  formats: FormatName[];
}

/** The plan for an output as stored (absent means json). */
export function outputPlan(output: OutputKind | undefined): OutputPlan {
  const parts: readonly string[] = Array.isArray(output) ? output : output === "both" ? ["json", "csv"] : [output ?? "json"];
  return { rows: parts.includes("json"), formats: FORMATS.filter((format) => parts.includes(format)) };
}

/** Why `value` is not an output `allowed` accepts, or undefined when it is one. A list accepts the parts of the allowed names. */
export function outputProblem(value: unknown, allowed: readonly NamedOutput[]): string | undefined {
  const parts = new Set<string>(allowed.flatMap((name) => (name === "both" ? ["json", "csv"] : [name])));
  const expected = `one of ${allowed.join(", ")}, or a list of ${[...parts].join(", ")}`;
  if (typeof value === "string") return (allowed as readonly string[]).includes(value) ? undefined : `must be ${expected}`;
  if (!Array.isArray(value) || value.length === 0) return `must be ${expected}`;
  const unknown = value.filter((part) => typeof part !== "string" || !parts.has(part));
  if (unknown.length > 0) return `must be ${expected}; ${unknown.map((part) => JSON.stringify(part)).join(", ")} is not`;
  if (new Set(value).size !== value.length) return "must name each part once";
  return undefined;
}

/** The JSON Schema of `output` (request bodies, schedules, the status). */
export function outputSchema(allowed: readonly NamedOutput[] = OUTPUTS): Record<string, unknown> {
  const parts = [...new Set(allowed.flatMap((name) => (name === "both" ? ["json", "csv"] : [name])))];
  return {
    oneOf: [
      { type: "string", enum: [...allowed] },
      { type: "array", items: { type: "string", enum: parts }, minItems: 1, uniqueItems: true },
    ],
    default: "json",
    description:
      'json: rows paged through the API; csv, ndjson, xlsx, parquet: that file (GET /v1/reports/{id}/download?format=…); both: json and csv; or a list, e.g. ["json", "xlsx", "parquet"]',
  };
}
