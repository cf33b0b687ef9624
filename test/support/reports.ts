/**
 * Running reports through the real API and comparing their rows with independent computations:
 * plain code over the shared sample_mflix files, never numbers taken from the implementation.
 */
import * as assert from "uvu/assert";
import type { Collection } from "mongodb";
import { get, post } from "./http.ts";

export type Row = Record<string, any>;

/** Submits (generic route, the per-collection alias, or any path), waits, and reads every page. */
export async function runReport(
  url: string,
  body: Record<string, unknown>,
  options: { alias?: string; path?: string } = {},
): Promise<Row[]> {
  const target = options.path
    ? `${url}${options.path}`
    : options.alias
      ? `${url}/v1/${options.alias}/${body.report_name}`
      : `${url}/v1/reports`;
  const submitted = await post(`${target}${target.includes("?") ? "&" : "?"}page_size=1000`, body);
  assert.ok(
    submitted.status === 202 || submitted.status === 200,
    `submit ${JSON.stringify(body)}: ${submitted.status} ${JSON.stringify(submitted.body)}`,
  );
  let link: string | undefined = `/v1/reports/${submitted.body.id}?page=0&page_size=1000&wait=30`;
  // The embedded test server joins and groups slowly (design.md): keep waiting, up to a limit.
  for (let waited = 0; waited < 900; waited += 30) {
    const status = await get(`${url}/v1/reports/${submitted.body.id}?page_size=1&wait=30`);
    if (!["pending", "running"].includes(status.body.status)) break;
  }
  const rows: Row[] = [];
  while (link) {
    const page: { status: number; body: any } = await get(`${url}${link}${link.includes("wait=") ? "" : "&wait=30"}`);
    assert.is(page.status, 200, JSON.stringify(page.body));
    assert.is(page.body.status, "completed", `${body.report_name}: ${JSON.stringify(page.body.error)}`);
    rows.push(...page.body.rows);
    link = page.body.links.next;
  }
  return rows;
}

// ---- plain-code helpers over the parsed files ----

export interface Bounds {
  $gt?: number | Date;
  $gte?: number | Date;
  $lt?: number | Date;
  $lte?: number | Date;
}

export function within(value: unknown, bounds: Bounds | undefined): boolean {
  if (!bounds) return true;
  const v = value instanceof Date ? value.getTime() : value;
  if (typeof v !== "number") return false;
  const n = (b: number | Date | undefined) => (b instanceof Date ? b.getTime() : b);
  if (bounds.$gt !== undefined && !(v > n(bounds.$gt)!)) return false;
  if (bounds.$gte !== undefined && !(v >= n(bounds.$gte)!)) return false;
  if (bounds.$lt !== undefined && !(v < n(bounds.$lt)!)) return false;
  if (bounds.$lte !== undefined && !(v <= n(bounds.$lte)!)) return false;
  return true;
}

export const year = (y: number) => new Date(Date.UTC(y, 0, 1));
export const isNumber = (v: unknown): v is number => typeof v === "number" && !Number.isNaN(v);
export const mean = (values: number[]) => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length);
/** Binary string order, as MongoDB compares strings without a collation. */
export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Compares ranked rows field by field. Averages are compared to 1e-9 (summation order differs
 * between MongoDB and JavaScript); `order` sorts the expected rows, with averages rounded so float
 * noise cannot reorder true ties.
 */
export function assertRows(actual: Row[], expected: Row[], label: string, order?: [string, 1 | -1][]): void {
  assert.is(actual.length, expected.length, `${label}: row count`);
  if (order) {
    // Averages equal on paper may differ in the last bit (summation order): check the order up
    // to that noise, then compare row by row in rank order.
    for (let i = 1; i < actual.length; i++) {
      for (const [key, dir] of order) {
        const a = actual[i - 1][key];
        const b = actual[i][key];
        const c = typeof a === "number" && typeof b === "number" ? (Math.abs(a - b) < 1e-9 ? 0 : a - b) : byString(String(a), String(b));
        if (c === 0) continue;
        assert.ok(c * dir < 0, `${label}: rows ${i - 1} and ${i} out of order on ${key} (${a}, ${b})`);
        break;
      }
    }
    actual = rank(actual, order);
  }
  expected.forEach((want, i) => {
    const got = actual[i];
    assert.equal(Object.keys(got).sort(), Object.keys(want).sort(), `${label}: columns of row ${i}`);
    for (const [key, value] of Object.entries(want)) {
      if (typeof value === "number" && !Number.isInteger(value)) {
        assert.ok(
          typeof got[key] === "number" && Math.abs(got[key] - value) < 1e-9,
          `${label}: row ${i} ${key}: got ${got[key]}, want ${value}`,
        );
      } else {
        assert.equal(got[key], value, `${label}: row ${i} (${JSON.stringify(want)}) ${key}`);
      }
    }
  });
}

export const round9 = (n: number | null) => (n === null ? null : Math.round(n * 1e9) / 1e9);

/** Sorts by [key, direction] pairs; numbers rounded to 1e-9 so float noise cannot break ties. */
export function rank<T extends Row>(rows: T[], keys: [string, 1 | -1][]): T[] {
  return [...rows].sort((a, b) => {
    for (const [key, dir] of keys) {
      const x = a[key];
      const y = b[key];
      const c = typeof x === "number" && typeof y === "number" ? round9(x)! - round9(y)! : byString(String(x), String(y));
      if (c !== 0) return c * dir;
    }
    return 0;
  });
}

/**
 * A pending request no worker takes for ten minutes (a Mongo-native insert with `not_before`):
 * for tests that read, cancel or remove a request before it runs. Returns its id.
 */
export async function insertHeldRequest(requests: Collection<any>, reportName = "top-movies-per-rating"): Promise<string> {
  const { insertedId } = await requests.insertOne({
    report_name: reportName,
    params: {},
    status: "pending",
    not_before: new Date(Date.now() + 600_000),
  });
  return String(insertedId);
}
