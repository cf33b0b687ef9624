/**
 * Pipeline templates of data-defined reports: what they may contain, and how validated
 * parameter values are put in.
 *
 * A template is ordinary aggregation syntax where a value may be a placeholder
 * `{ "$param": "<name>" }`. Every `$` key is checked against allow-lists, so a definition can
 * neither run code (`$where`, `$function`, `$accumulator`), nor write (`$out`, `$merge`), nor read
 * collections it does not name (`$lookup.from` must be in `lookups`).
 */
import type { Document } from "mongodb";
import { collectionProblem } from "./document.ts";
import type { CompiledParameter } from "./parameters.ts";

/** Stages and operators refused with a reason of their own (the rest: "not allowed"). */
const FORBIDDEN: Record<string, string> = {
  $where: "runs JavaScript on the server",
  $function: "runs JavaScript on the server",
  $accumulator: "runs JavaScript on the server",
  $out: "writes to a collection",
  $merge: "writes to a collection",
  $unionWith: "reads another collection (use $lookup into a collection listed in lookups)",
  $graphLookup: "reads another collection recursively",
  $currentOp: "exposes server internals",
  $collStats: "exposes server internals",
  $indexStats: "exposes server internals",
  $planCacheStats: "exposes server internals",
  $listSessions: "exposes server internals",
};

const STAGES = new Set([
  "$match",
  "$project",
  "$addFields",
  "$unwind",
  "$group",
  "$sort",
  "$limit",
  "$skip",
  "$count",
  "$lookup",
  "$replaceRoot",
  "$sortByCount",
  "$facet",
]);

/** Query and expression operators, accumulators included. Only what reports need. */
const OPERATORS = new Set([
  // query
  "$eq",
  "$ne",
  "$gt",
  "$gte",
  "$lt",
  "$lte",
  "$in",
  "$nin",
  "$and",
  "$or",
  "$nor",
  "$not",
  "$exists",
  "$type",
  "$size",
  "$all",
  "$elemMatch",
  "$expr",
  // arithmetic
  "$add",
  "$subtract",
  "$multiply",
  "$divide",
  "$mod",
  "$abs",
  "$ceil",
  "$floor",
  "$trunc",
  // strings
  "$concat",
  "$toLower",
  "$toUpper",
  "$substrCP",
  "$strLenCP",
  "$split",
  "$indexOfCP",
  "$trim",
  // arrays and sets
  "$arrayElemAt",
  "$concatArrays",
  "$filter",
  "$map",
  "$isArray",
  "$slice",
  "$reverseArray",
  "$setUnion",
  "$setIntersection",
  "$setDifference",
  // conditions and comparison
  "$cond",
  "$ifNull",
  "$cmp",
  // dates
  "$year",
  "$month",
  "$dayOfMonth",
  "$dayOfWeek",
  "$hour",
  "$dateToString",
  // conversion and literals
  "$toString",
  "$toInt",
  "$toLong",
  "$toDouble",
  "$toDate",
  "$literal",
  "$mergeObjects",
  // accumulators ($group)
  "$sum",
  "$avg",
  "$min",
  "$max",
  "$first",
  "$last",
  "$push",
  "$addToSet",
]);

const LOOKUP_KEYS = new Set(["from", "localField", "foreignField", "as"]);

export interface TemplateRules {
  parameters: Map<string, CompiledParameter>;
  /** Collections $lookup may name. */
  lookups: readonly string[];
}

function isPlaceholder(value: unknown): value is { $param: unknown } {
  return value !== null && typeof value === "object" && !Array.isArray(value) && "$param" in value;
}

/** Every reason the template is unsafe or inconsistent; empty when it is fine. */
export function checkTemplate(pipeline: Document[], rules: TemplateRules): { errors: string[]; used: Set<string> } {
  const errors: string[] = [];
  const used = new Set<string>();

  function checkPlaceholder(value: Record<string, unknown>, where: string, inArray: boolean): void {
    const name = value.$param;
    if (Object.keys(value).length !== 1 || typeof name !== "string") {
      errors.push(`${where}: a placeholder is exactly {"$param": "<parameter name>"}`);
      return;
    }
    const parameter = rules.parameters.get(name);
    if (!parameter) {
      errors.push(
        `${where}: placeholder {"$param": ${JSON.stringify(name)}} names no declared parameter (declared: ${[...rules.parameters.keys()].join(", ") || "none"})`,
      );
      return;
    }
    used.add(name);
    // An absent value removes its key; inside an array it would shift positional arguments.
    if (inArray && parameter.optional) {
      errors.push(
        `${where}: parameter ${name} is optional without a default, so it may only be an object value, not an array element (make it required or give it a default)`,
      );
    }
  }

  function walk(value: unknown, where: string, inArray = false): void {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${where}[${i}]`, true));
      return;
    }
    if (value === null || typeof value !== "object") return;
    if (isPlaceholder(value)) {
      checkPlaceholder(value, where, inArray);
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const at = `${where}.${key}`;
      if (key.startsWith("$")) {
        if (key in FORBIDDEN) {
          errors.push(`${at}: ${key} is forbidden (${FORBIDDEN[key]})`);
          continue;
        }
        if (STAGES.has(key) && !OPERATORS.has(key)) {
          errors.push(`${at}: the stage ${key} can only appear at the top level of a pipeline`);
          continue;
        }
        if (!OPERATORS.has(key)) {
          errors.push(`${at}: the operator ${key} is not allowed`);
          continue;
        }
      }
      walk(child, at);
    }
  }

  function checkPipeline(stages: unknown[], where: string): void {
    stages.forEach((stage, i) => {
      const at = `${where}[${i}]`;
      if (stage === null || typeof stage !== "object" || Array.isArray(stage)) {
        errors.push(`${at}: a stage is an object such as {"$match": {...}}`);
        return;
      }
      const keys = Object.keys(stage);
      if (keys.length !== 1) {
        errors.push(`${at}: a stage has exactly one key, found ${keys.length} (${keys.join(", ")})`);
        return;
      }
      const name = keys[0];
      const body = (stage as Record<string, unknown>)[name];
      if (name in FORBIDDEN) {
        errors.push(`${at}: ${name} is forbidden (${FORBIDDEN[name]})`);
        return;
      }
      if (!STAGES.has(name)) {
        errors.push(`${at}: the stage ${name} is not allowed (allowed: ${[...STAGES].join(", ")})`);
        return;
      }
      if (name === "$lookup") checkLookup(body, `${at}.$lookup`);
      else if (name === "$facet") checkFacet(body, `${at}.$facet`);
      else walk(body, `${at}.${name}`);
    });
  }

  function checkLookup(body: unknown, at: string): void {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      errors.push(`${at}: must be {"from", "localField", "foreignField", "as"}`);
      return;
    }
    const extra = Object.keys(body).filter((k) => !LOOKUP_KEYS.has(k));
    if (extra.length > 0) {
      errors.push(`${at}: only from, localField, foreignField and as are allowed (found ${extra.join(", ")}); sub-pipelines are not`);
      return;
    }
    const spec = body as Record<string, unknown>;
    for (const key of LOOKUP_KEYS) {
      if (typeof spec[key] !== "string" || spec[key].startsWith("$"))
        errors.push(`${at}.${key}: must be a literal field or collection name`);
    }
    if (typeof spec.from === "string") {
      const problem = collectionProblem(spec.from);
      if (problem) errors.push(`${at}.from: ${problem}`);
      else if (!rules.lookups.includes(spec.from)) {
        errors.push(
          `${at}.from: ${JSON.stringify(spec.from)} is not named in the definition's lookups (${rules.lookups.join(", ") || "none"})`,
        );
      }
    }
  }

  function checkFacet(body: unknown, at: string): void {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      errors.push(`${at}: must map output names to pipelines`);
      return;
    }
    for (const [name, sub] of Object.entries(body)) {
      if (!Array.isArray(sub)) errors.push(`${at}.${name}: must be a pipeline (an array of stages)`);
      else checkPipeline(sub, `${at}.${name}`);
    }
  }

  checkPipeline(pipeline, "pipeline");
  for (const name of rules.parameters.keys()) {
    if (!used.has(name)) errors.push(`parameters.properties.${name}: declared but never used in the pipeline`);
  }
  return { errors, used };
}

/** Pipeline syntax for one validated value: ranges are already operators; lists become $in/$nin. */
function toPipelineValue(parameter: CompiledParameter, value: unknown): unknown {
  if (parameter.kind === "list") {
    const list = value as { include?: string[]; exclude?: string[] };
    return { ...(list.include ? { $in: list.include } : {}), ...(list.exclude ? { $nin: list.exclude } : {}) };
  }
  return value;
}

const ABSENT = Symbol("absent");

/**
 * Where a value sits decides how a parameter is put in. In aggregation expressions a string such
 * as "$password" would be read as a field path (and 1 as "include" in $project), so there values
 * go in as {"$literal": value}; in query filters and plain stage options they are data already.
 */
type Context = "query" | "expression" | "plain";

const EXPRESSION_STAGES = new Set(["$project", "$addFields", "$group", "$replaceRoot", "$sortByCount"]);

/**
 * The pipeline for validated `params`. A placeholder whose parameter is absent removes its key;
 * an object or array left empty by such removals goes too (so `{"year": {"$gte": <absent>}}`
 * does not become `{"year": {}}`, which would match nothing), and so does a stage left empty.
 * Values are only ever copied in as data, never parsed as syntax.
 */
export function renderTemplate(
  pipeline: Document[],
  parameters: Map<string, CompiledParameter>,
  params: Record<string, unknown>,
): Document[] {
  function render(value: unknown, context: Context): unknown {
    if (Array.isArray(value)) {
      const out = value.map((item) => render(item, context)).filter((v) => v !== ABSENT);
      return out.length === 0 && value.length > 0 ? ABSENT : out;
    }
    if (value === null || typeof value !== "object" || value instanceof Date) return value;
    if (isPlaceholder(value)) {
      const name = value.$param as string;
      const given = params[name];
      if (given === undefined) return ABSENT;
      const rendered = toPipelineValue(parameters.get(name)!, given);
      return context === "expression" ? { $literal: rendered } : rendered;
    }
    const entries = Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [key, child] of entries) {
      const rendered = render(child, key === "$expr" ? "expression" : context);
      if (rendered !== ABSENT) out[key] = rendered;
    }
    return Object.keys(out).length === 0 && entries.length > 0 ? ABSENT : out;
  }

  function renderPipeline(stages: Document[]): Document[] {
    const out: Document[] = [];
    for (const stage of stages) {
      const [name] = Object.keys(stage);
      let body: unknown;
      if (name === "$facet") {
        body = Object.fromEntries(Object.entries(stage.$facet as Record<string, Document[]>).map(([k, sub]) => [k, renderPipeline(sub)]));
      } else {
        body = render(stage[name], name === "$match" ? "query" : EXPRESSION_STAGES.has(name) ? "expression" : "plain");
      }
      if (body !== ABSENT) out.push({ [name]: body });
    }
    return out;
  }

  return renderPipeline(pipeline);
}
