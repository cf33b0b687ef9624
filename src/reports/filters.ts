/**
 * Filter shapes shared by reports, in the design document's notation:
 *   ranges  { "$gt": …, "$gte": …, "$lt": …, "$lte": … }
 *   lists   { "include": [...], "exclude": [...] }
 * Each struct rejects unknown keys, so no operator a client invents (`$where`, `$expr`, …) ever
 * reaches a pipeline; the `*Match` helpers turn validated values into query fragments.
 */
import {
  array,
  coerce,
  define,
  defaulted,
  enums,
  integer,
  max,
  min,
  number,
  object,
  optional,
  refine,
  size,
  string,
  type,
  type Struct,
} from "superstruct";
import { withJsonSchema, type JsonSchema } from "./json-schema.ts";

export interface NumberRange {
  $gt?: number;
  $gte?: number;
  $lt?: number;
  $lte?: number;
}

const BOUND_KEYS = ["$gt", "$gte", "$lt", "$lte"] as const;

function boundsAreConsistent(range: Record<string, unknown>): true | string {
  const keys = Object.keys(range).filter((k) => range[k] !== undefined);
  if (keys.length === 0) return "give at least one of $gt, $gte, $lt, $lte";
  if (range.$gt !== undefined && range.$gte !== undefined) return "give $gt or $gte, not both";
  if (range.$lt !== undefined && range.$lte !== undefined) return "give $lt or $lte, not both";
  return rangeCanMatch(range);
}

function shown(value: unknown): string {
  if (!(value instanceof Date)) return JSON.stringify(value);
  const iso = value.toISOString();
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
}

/**
 * A range whose lower bound is not below its upper bound matches nothing: refused, naming both
 * bounds, rather than run to an empty result a person would take for missing data. Bounds of the
 * wrong type are left to the field checks. Date bounds are compared as read (a year `$gt` 2000
 * starts at 2001-01-01), and named so.
 */
function rangeCanMatch(range: Record<string, unknown>): true | string {
  const lowerKey = range.$gt !== undefined ? "$gt" : range.$gte !== undefined ? "$gte" : undefined;
  const upperKey = range.$lt !== undefined ? "$lt" : range.$lte !== undefined ? "$lte" : undefined;
  if (!lowerKey || !upperKey) return true;
  const lower = range[lowerKey];
  const upper = range[upperKey];
  const value = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === "number" ? v : Number.NaN);
  const [low, high] = [value(lower), value(upper)];
  if (Number.isNaN(low) || Number.isNaN(high)) return true;
  const empty = low > high || (low === high && !(lowerKey === "$gte" && upperKey === "$lte"));
  if (!empty) return true;
  return `matches nothing: the lower bound ${lowerKey} ${shown(lower)} is not below the upper bound ${upperKey} ${shown(upper)}`;
}

const finite = refine(number(), "finite", (n) => Number.isFinite(n) || "must be a finite number");

/** JSON Schema of a range whose bounds match `bound`; mirrors boundsAreConsistent. */
function rangeSchema(bound: JsonSchema, description: string): JsonSchema {
  return {
    type: "object",
    description,
    properties: { $gt: bound, $gte: bound, $lt: bound, $lte: bound },
    additionalProperties: false,
    minProperties: 1,
    allOf: [{ not: { required: ["$gt", "$gte"] } }, { not: { required: ["$lt", "$lte"] } }],
  };
}

export function numberRange(): Struct<NumberRange, any> {
  const struct = refine(
    object({ $gt: optional(finite), $gte: optional(finite), $lt: optional(finite), $lte: optional(finite) }),
    "range",
    boundsAreConsistent,
  );
  return withJsonSchema(struct, rangeSchema({ type: "number" }, "bounds: any of $gt/$gte and $lt/$lte"));
}

export interface DateRange {
  $gt?: Date;
  $gte?: Date;
  $lt?: Date;
  $lte?: Date;
}

const YEAR = /^\d{4}$/;
/**
 * Exactly the calendar dates that exist (leap years included) with an optional time of day and
 * offset: the published pattern is this regular expression, so a string matches it if and only
 * if the API accepts it.
 */
const DAY = "(?:0[1-9]|1\\d|2[0-8])";
const MONTH_DAY = `(?:(?:0[13578]|1[02])-(?:${DAY}|29|30|31)|(?:0[469]|11)-(?:${DAY}|29|30)|02-${DAY})`;
const LEAP_YEAR = "(?:\\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)";
const CALENDAR_DATE = `(?:\\d{4}-${MONTH_DAY}|${LEAP_YEAR}-02-29)`;
const TIME = "T(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d{1,3})?)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)?";
const ISO_DATE = new RegExp(`^${CALENDAR_DATE}(?:${TIME})?$`);

function startOfYear(year: number): Date {
  // Not Date.UTC(year, …): it reads years 0–99 as 1900–1999.
  const start = new Date(0);
  start.setUTCFullYear(year, 0, 1);
  return start;
}

/**
 * A year (`1990`, `"1990"`) stands for the whole year, so `{"$gt": "1990", "$lt": "2021"}`
 * means 1991-01-01 ≤ t < 2021-01-01: years 1991–2020, as a person reading the design document expects.
 * An ISO date (`"1995-06-01"`, `"1995-06-01T12:00:00Z"`) is used as given, in UTC.
 * The output uses only Dates, and Dates pass through unchanged, so normalising is idempotent.
 */
function normaliseDateRange(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    // The published schema: an integer year 0–9999, or four digits.
    const isYear =
      (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 9999) ||
      (typeof value === "string" && YEAR.test(value));
    if (isYear && (BOUND_KEYS as readonly string[]).includes(key)) {
      const year = Number(value);
      if (key === "$gt") out.$gte = startOfYear(year + 1);
      else if (key === "$gte") out.$gte = startOfYear(year);
      else if (key === "$lt") out.$lt = startOfYear(year);
      else out.$lt = startOfYear(year + 1); // $lte: up to the end of that year
    } else if (typeof value === "string") {
      // Text that is not a date that exists fails validDate with "must be a valid date".
      out[key] = ISO_DATE.test(value) ? parseIsoDate(value) : new Date(Number.NaN);
    } else {
      out[key] = value; // left for the struct to reject with its own message
    }
  }
  return out;
}

/**
 * ISO_DATE admits only dates that exist, so parsing cannot roll over (as `new Date("2020-02-31")`
 * would, to 2 March). Without an offset the text means UTC (JavaScript would read a date-time
 * without one as local time).
 */
function parseIsoDate(text: string): Date {
  if (text.length === 10) return new Date(`${text}T00:00:00Z`);
  return new Date(/(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : `${text}Z`);
}

/** What a date may be, with examples: said for anything else (a typo like "199O", "2021-02-30", "01/01/1990"). */
export const DATE_FORMS =
  'a year such as 1990, or an ISO 8601 date that exists such as "1995-06-01" or "1995-06-01T12:00:00Z" (UTC unless an offset is given)';
const DATE_ACCEPTED = `must be ${DATE_FORMS}`;

// Not superstruct's date(): its message for text that is no date is "Expected a valid `Date` object,
// but received: Invalid Date", which tells a person nothing about what to type.
const validDate = define<Date>("valid date", (d) => (d instanceof Date && !Number.isNaN(d.getTime())) || DATE_ACCEPTED);

export function dateRange(): Struct<DateRange, any> {
  const normalised = refine(
    object({ $gt: optional(validDate), $gte: optional(validDate), $lt: optional(validDate), $lte: optional(validDate) }),
    "range",
    boundsAreConsistent,
  );
  // type({}) matches any object, so the coercer sees every object input and the struct then
  // reports what is wrong with it (unknown keys included).
  const struct = coerce(normalised, type({}), normaliseDateRange) as Struct<DateRange, any>;
  const bound = {
    description: DATE_FORMS,
    anyOf: [
      { type: "integer", minimum: 0, maximum: 9999, description: "a year, meaning the whole year" },
      {
        type: "string",
        pattern: `${YEAR.source}|${ISO_DATE.source}`,
        description: "a year or an ISO 8601 date (UTC unless an offset is given)",
      },
    ],
  };
  return withJsonSchema(
    struct,
    rangeSchema(bound, 'date bounds: years stand for whole years, e.g. {"$gt": "1990", "$lt": "2021"} is 1991–2020'),
  );
}

/** One date: a year (its first day) or an ISO date, always stored as a Date. */
export function dateValue(): Struct<Date, any> {
  const struct = coerce(validDate, string(), (s) =>
    YEAR.test(s) ? startOfYear(Number(s)) : ISO_DATE.test(s) ? parseIsoDate(s) : new Date(Number.NaN),
  );
  return withJsonSchema(struct, {
    type: "string",
    pattern: `${YEAR.source}|${ISO_DATE.source}`,
    description: DATE_FORMS,
  });
}

export interface NameList {
  include?: string[];
  exclude?: string[];
}

const name = size(string(), 1, 200);

export function nameList(): Struct<NameList, any> {
  const struct = refine(
    object({ include: optional(size(array(name), 1, 500)), exclude: optional(size(array(name), 1, 500)) }),
    "list",
    (v) => v.include !== undefined || v.exclude !== undefined || "give include, exclude or both",
  );
  const names = { type: "array", items: { type: "string", minLength: 1, maxLength: 200 }, minItems: 1, maxItems: 500 };
  return withJsonSchema(struct, {
    type: "object",
    description: "include: keep only these; exclude: drop these",
    properties: { include: names, exclude: names },
    additionalProperties: false,
    minProperties: 1,
  });
}

/** `top`: keep the first N rows of the ranking. */
export function topN(limit = 100_000): Struct<number | undefined, any> {
  return withJsonSchema(optional(min(max(integer(), limit), 1)), {
    type: "integer",
    minimum: 1,
    maximum: limit,
    description: "keep only the first N rows",
  });
}

export function minimum(floor = 0): Struct<number | undefined, any> {
  return withJsonSchema(optional(min(integer(), floor)), { type: "integer", minimum: floor });
}

/** One of a few words, with a default (stored in the normalised params, so runs are reproducible). */
export function choice<T extends string>(values: readonly T[], fallback: T, description?: string): Struct<T, any> {
  return withJsonSchema(defaulted(enums(values as T[]), fallback) as Struct<T, any>, {
    type: "string",
    enum: [...values],
    default: fallback,
    ...(description ? { description } : {}),
  });
}

/** A query fragment for a range on `field`, or nothing when the filter is absent. */
export function rangeMatch(field: string, range: NumberRange | DateRange | undefined): Record<string, unknown> {
  if (!range) return {};
  const bounds: Record<string, unknown> = {};
  for (const key of BOUND_KEYS) if (range[key] !== undefined) bounds[key] = range[key];
  return { [field]: bounds };
}

/** A query fragment for an include/exclude list on an array or scalar `field`. */
export function listMatch(field: string, list: NameList | undefined): Record<string, unknown> {
  if (!list) return {};
  const condition: Record<string, unknown> = {};
  if (list.include) condition.$in = list.include;
  if (list.exclude) condition.$nin = list.exclude;
  return { [field]: condition };
}

/** Merges fragments into one $match stage, or none when every filter is absent. */
export function matchStage(...fragments: Record<string, unknown>[]): Record<string, unknown>[] {
  const merged: Record<string, unknown> = {};
  const and: Record<string, unknown>[] = [];
  for (const fragment of fragments) {
    for (const [key, value] of Object.entries(fragment)) {
      if (key in merged) and.push({ [key]: value });
      else merged[key] = value;
    }
  }
  if (and.length > 0) merged.$and = and;
  return Object.keys(merged).length === 0 ? [] : [{ $match: merged }];
}

/** `$limit` for a `top` filter, or nothing. */
export function limitStage(top: number | undefined): Record<string, unknown>[] {
  return top === undefined ? [] : [{ $limit: top }];
}
