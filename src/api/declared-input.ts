/**
 * The route declarations are the validator (as in fastify): before a handler runs, the router
 * checks the path parameters, the query string, the headers and the JSON body against the very
 * schemas /openapi.json publishes for the route, and refuses with a problem naming every bad field.
 * What the document says is accepted is what is accepted; the handlers' own checks are then only
 * about meaning (a date that exists, a range that can match, a report that exists now).
 *
 * Schemas are compiled with ajv in the JSON Schema 2020-12 dialect (OpenAPI 3.1's), once per
 * distinct schema: the report bodies change with the live catalogue, so the cache is keyed by the
 * schema's text and bounded.
 */
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { Context } from "koa";
import type { JsonSchema } from "../reports/json-schema.ts";
import { PROBLEMS, ProblemError, type ProblemType } from "./problems.ts";
import type { BodyRefusal, FieldError, ParameterDeclaration } from "./route.ts";

export type { FieldError } from "./route.ts";

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
  parentSchema?: { description?: string };
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
type AjvLike = { compile(schema: object): Validate };

// ajv ships CommonJS: its default export arrives as `.default` under Node's ESM loader.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as new (options: object) => AjvLike;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: AjvLike) => void;

/** Deeper JSON than this is refused before any schema or handler walks it. */
export const MAX_BODY_DEPTH = 64;

// `discriminator` stays an annotation (ajv's support refuses `mapping`): oneOf decides alone.
const ajv = new Ajv2020({ strict: false, allErrors: true, verbose: true });
addFormats(ajv);

const COMPILED_MAX = 200;
const compiled = new Map<string, Validate>();

/** "#/components/schemas/X" → "#/$defs/X", so one schema carries every definition it names. */
export function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === "$ref" && typeof inner === "string" ? inner.replace("#/components/schemas/", "#/$defs/") : rewriteRefs(inner),
    ]),
  );
}

/** The validator of each (schema, components) pair of objects already seen: a route whose schemas are made once (or kept while the catalogue is unchanged) skips the rewrite and the text key below. */
const byIdentity = new WeakMap<object, WeakMap<object, Validate>>();
const NO_COMPONENTS = {};

function validatorFor(schema: JsonSchema, components: Record<string, JsonSchema> = NO_COMPONENTS): Validate {
  const known = byIdentity.get(schema)?.get(components);
  if (known) return known;
  const validate = validatorForText(schema, components);
  let forSchema = byIdentity.get(schema);
  if (!forSchema) byIdentity.set(schema, (forSchema = new WeakMap()));
  forSchema.set(components, validate);
  return validate;
}

function validatorForText(schema: JsonSchema, components: Record<string, JsonSchema>): Validate {
  const whole = { ...(rewriteRefs(schema) as object), $defs: rewriteRefs(components) };
  const key = JSON.stringify(whole);
  let validate = compiled.get(key);
  if (!validate) {
    if (compiled.size >= COMPILED_MAX) compiled.delete(compiled.keys().next().value as string);
    validate = ajv.compile(whole);
    compiled.set(key, validate);
  }
  return validate;
}

/** ajv's errors as the API's field errors: the field's path, and the schema's own words where it has them. */
function fieldErrors(errors: readonly AjvError[], root: string): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    // A failed anyOf/oneOf repeats what each branch said; the branch errors are the useful ones.
    if (error.keyword === "anyOf" || error.keyword === "oneOf" || error.keyword === "if") continue;
    const path = error.instancePath
      .split("/")
      .slice(1)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    let field = [root, ...path].filter(Boolean).join(".");
    let message = error.message ?? "is invalid";
    if (error.keyword === "additionalProperties") {
      const extra = String(error.params.additionalProperty);
      field = [root, ...path, extra].filter(Boolean).join(".");
      message = `unknown field ${JSON.stringify(extra)}`;
    } else if (error.keyword === "required") {
      const missing = String(error.params.missingProperty);
      field = [root, ...path, missing].filter(Boolean).join(".");
      message = "is required";
    } else if (error.keyword === "pattern" && error.parentSchema?.description) {
      message = `must be ${error.parentSchema.description}`;
    } else if (error.keyword === "not") {
      message = "is not allowed in this combination";
    }
    const key = `${field}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ field: field || "(body)", message });
    }
  }
  return out;
}

function problemFor(problem: ProblemType, errors: FieldError[]): ProblemError {
  return new ProblemError(problem, errors.map((e) => `${e.field}: ${e.message}`).join("; "), { extensions: { errors } });
}

/** The problem a bad parameter is answered with, unless it declares its own. */
export function parameterProblem(parameter: ParameterDeclaration): ProblemType {
  if (parameter.problem) return parameter.problem;
  if (parameter.in === "path") return PROBLEMS.notFound;
  if (parameter.in === "header") return PROBLEMS.invalidHeader;
  return PROBLEMS.invalidQuery;
}

function typesOf(schema: JsonSchema): string[] {
  const type = schema.type;
  return Array.isArray(type) ? (type as string[]) : typeof type === "string" ? [type] : [];
}

/** Query and path text read as the declared type (only whole forms: "12" is 12, "12a" stays text and fails). */
function fromText(text: string, schema: JsonSchema): unknown {
  const types = typesOf(schema);
  if ((types.includes("integer") || types.includes("number")) && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (types.includes("boolean") && (text === "true" || text === "false")) return text === "true";
  return text;
}

export interface DeclaredInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * Checks the declared parameters; returns them as the declared types. A parameter that is not
 * declared is left alone (ignored), as OpenAPI does not forbid them.
 */
export function checkParameters(
  declared: readonly ParameterDeclaration[],
  raw: { params: Record<string, string>; query: Record<string, string | string[] | undefined>; headers: Record<string, unknown> },
): DeclaredInput {
  const input: DeclaredInput = { params: {}, query: {}, headers: {} };
  for (const parameter of declared) {
    let value: unknown;
    if (parameter.in === "path") value = raw.params[parameter.name];
    else if (parameter.in === "query") value = raw.query[parameter.name];
    else value = raw.headers[parameter.name.toLowerCase()];
    const problem = parameterProblem(parameter);
    if (value === undefined) {
      if (parameter.required) throw problemFor(problem, [{ field: parameter.name, message: "is required" }]);
      continue;
    }
    if (Array.isArray(value) && typesOf(parameter.schema)[0] !== "array") {
      throw problemFor(problem, [{ field: parameter.name, message: "give it once" }]);
    }
    const typed = typeof value === "string" ? fromText(value, parameter.schema) : value;
    const validate = validatorFor(parameter.schema);
    if (!validate(typed)) throw problemFor(problem, fieldErrors(validate.errors ?? [], parameter.name));
    if (parameter.in === "path") input.params[parameter.name] = typed;
    else if (parameter.in === "query") input.query[parameter.name] = typed;
    else input.headers[parameter.name] = String(typed);
  }
  return input;
}

/** How deep `value` nests (objects and arrays), counted without recursion so no depth can overflow the stack. */
export function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > limit) return deepest;
    for (const inner of Array.isArray(current) ? current : Object.values(current)) stack.push([inner, depth + 1]);
  }
  return deepest;
}

/** What is wrong with `body` by `schema` (none when it matches). */
export function schemaErrors(body: unknown, schema: JsonSchema, components: Record<string, JsonSchema> = {}): FieldError[] {
  const validate = validatorFor(schema, components);
  return validate(body) ? [] : fieldErrors(validate.errors ?? [], "");
}

/** Checks a parsed JSON body against the declared schema; the route may choose the problem it is refused with. */
export function checkBody(
  ctx: Context,
  body: unknown,
  schema: JsonSchema,
  components: Record<string, JsonSchema>,
  refuse?: BodyRefusal,
): void {
  if (depthOf(body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
    throw problemFor(PROBLEMS.invalidBody, [{ field: "(body)", message: `nested more than ${MAX_BODY_DEPTH} levels deep` }]);
  }
  const validate = validatorFor(schema, components);
  if (validate(body)) return;
  const raw = validate.errors ?? [];
  const errors = fieldErrors(raw, "");
  if (refuse) throw refuse(errors, body, new Set(raw.map((e) => e.keyword)), ctx);
  throw problemFor(PROBLEMS.invalidBody, errors);
}
