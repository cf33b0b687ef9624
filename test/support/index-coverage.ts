/**
 * Whether an index serves a query, by the rules MongoDB's planner follows for one index (the test
 * server has no planner: it uses only `_id` and unique indexes, so this is checked on the query's
 * shape; test/integration/real-mongodb.test.ts checks the same queries with `explain` on a real
 * server).
 *
 * "Served" means: a partial index's filter is implied by the query; the scan is bounded (the index's
 * first field is constrained by the filter, or is where the sort starts, so a limit stops it); the
 * sort comes from the index order (the sorted fields follow the index's key in order, each field
 * before them pinned to points by the filter, all in the key's direction or all reversed); and the
 * filter's fields are in the key, except the ones listed as `residual`, which the server checks on
 * the fetched documents.
 */
import { isDeepStrictEqual } from "node:util";

export type IndexKey = Record<string, 1 | -1 | string>;

export interface IndexShape {
  name: string;
  key: IndexKey;
  partialFilterExpression?: Record<string, unknown>;
}

export interface QueryShape {
  filter: Record<string, unknown>;
  sort?: Record<string, 1 | -1>;
  /** `hint` by name: then only that index may serve it, even without bounds (a whole-index scan). */
  hint?: string;
}

export interface Coverage {
  served: boolean;
  /** Why not, when not served. */
  reason?: string;
  /** Filter fields the index does not hold (checked on each fetched document). */
  residual: string[];
}

const RANGE_OPERATORS = new Set(["$gt", "$gte", "$lt", "$lte", "$not", "$ne", "$exists", "$type"]);

type Predicate = "point" | "points" | "range" | "other";

function kind(value: unknown): Predicate {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Date || isBsonValue(value)) return "point";
  const operators = Object.keys(value);
  if (operators.length === 0) return "point";
  if (operators.length === 1 && operators[0] === "$eq") return "point";
  if (operators.length === 1 && operators[0] === "$in") return (value as { $in: unknown[] }).$in.length === 1 ? "point" : "points";
  if (operators.every((op) => RANGE_OPERATORS.has(op))) return "range";
  return "other";
}

/** An ObjectId, Decimal128 and the like: a value, not an operator document. */
function isBsonValue(value: object): boolean {
  return typeof (value as { _bsontype?: unknown })._bsontype === "string";
}

const EXPR_COMPARISONS = new Set(["$eq", "$lt", "$lte", "$gt", "$gte"]);

/**
 * `$expr: {$lte: ["$field", <constant or $$NOW>]}`: since MongoDB 5.0 the planner rewrites such a
 * comparison into an internal match expression with index bounds, so it counts as a predicate on
 * the field (a range; `$eq` a point).
 */
function exprPredicate(expr: unknown): [string, unknown] | undefined {
  if (!expr || typeof expr !== "object") return undefined;
  const [operator, operands] = Object.entries(expr)[0] ?? [];
  if (!operator || !EXPR_COMPARISONS.has(operator) || !Array.isArray(operands) || operands.length !== 2) return undefined;
  const [left] = operands;
  if (typeof left !== "string" || !left.startsWith("$") || left.startsWith("$$")) return undefined;
  return [left.slice(1), operator === "$eq" ? operands[1] : { [operator]: operands[1] }];
}

/** Top-level field predicates, with `$and` flattened and `$expr` field comparisons read as predicates. */
function predicates(filter: Record<string, unknown>): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (const [field, value] of Object.entries(filter)) {
    if (field === "$and") for (const part of value as Record<string, unknown>[]) for (const [f, v] of predicates(part)) fields.set(f, v);
    else if (field === "$expr" && exprPredicate(value)) fields.set(...exprPredicate(value)!);
    else fields.set(field, value);
  }
  return fields;
}

/** Does the query's predicate on a field imply the partial filter's predicate on it? */
function implies(queryValue: unknown, partialValue: unknown): boolean {
  if (queryValue === undefined) return false;
  if (isDeepStrictEqual(queryValue, partialValue)) return true;
  // {$exists: true} is implied by an equality on a value that is not null.
  if (isDeepStrictEqual(partialValue, { $exists: true })) return kind(queryValue) === "point" && queryValue !== null;
  return false;
}

export function coverage(index: IndexShape, query: QueryShape): Coverage {
  const fields = predicates(query.filter);
  const partial = index.partialFilterExpression ?? {};
  for (const [field, value] of Object.entries(partial)) {
    if (!implies(fields.get(field), value)) return { served: false, reason: `partial filter on ${field} not implied`, residual: [] };
  }
  if (query.hint !== undefined && query.hint !== index.name) return { served: false, reason: `hinted ${query.hint}`, residual: [] };
  const keyFields = Object.keys(index.key);
  const sort = Object.entries(query.sort ?? {});
  let sorted = 0;
  let direction: number | undefined;
  for (const field of keyFields) {
    const predicate = fields.has(field) ? kind(fields.get(field)) : undefined;
    const next = sort[sorted];
    if (next && next[0] === field) {
      const keyDirection = index.key[field];
      if (keyDirection !== 1 && keyDirection !== -1) return { served: false, reason: `${field} is not an ordered key`, residual: [] };
      const d = next[1] * keyDirection;
      if (direction !== undefined && d !== direction) return { served: false, reason: `sort direction on ${field}`, residual: [] };
      direction = d;
      sorted += 1;
      continue;
    }
    if (sorted === sort.length) break; // the sort is done: later key fields only narrow the scan
    if (predicate === "point" || predicate === "points") continue;
    return { served: false, reason: `sort on ${next[0]} needs ${field} pinned (in-memory sort)`, residual: [] };
  }
  if (sorted < sort.length) return { served: false, reason: `sort on ${sort[sorted][0]} not in the key's order`, residual: [] };
  const first = keyFields[0];
  const bounded = fields.has(first) && kind(fields.get(first)) !== "other";
  if (!bounded && sort[0]?.[0] !== first && query.hint !== index.name) {
    return { served: false, reason: `the key's first field ${first} is not constrained (a whole-index scan)`, residual: [] };
  }
  const residual = [...fields.keys()].filter((field) => !(field in index.key) && !(field in partial));
  return { served: true, residual };
}

/** The `_id` index every collection has. */
export const ID_INDEX: IndexShape = { name: "_id_", key: { _id: 1 } };
