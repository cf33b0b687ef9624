/**
 * A route declares its whole contract beside its handler: what it is (summary, tags), who may call
 * it (access), what it takes (parameters, body), and every response it sends with its schema,
 * including the problem types it throws. The router (router.ts) serves these declarations and the
 * OpenAPI document (openapi.ts) is assembled from them; nothing else describes a route.
 * See src/api/README.md for how to add one.
 */
import type { Context } from "koa";
import type { JsonSchema } from "../reports/json-schema.ts";
import type { ProblemError, ProblemType } from "./problems.ts";

/** One refused field: its dotted path and what is wrong with it. */
export interface FieldError {
  field: string;
  message: string;
}

/** Chooses the problem a body its declared schema refuses is answered with (see RouteDeclaration.refuseBody). */
export type BodyRefusal = (errors: FieldError[], body: unknown, keywords: ReadonlySet<string>, ctx: Context) => ProblemError;

/** read: status, rows, CSV, lists. submit: create and cancel its own requests. admin: everything. */
import type { Scope } from "../config/api-keys.ts";
/** A scope a key must hold when API_KEYS is set, or "public" for routes open to everyone. */
export type Access = Scope | "public";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A value, or a function computing it when the document is built (the report catalogue is live). */
export type Lazy<T> = T | (() => T);

export function resolve<T>(value: Lazy<T>): T {
  return typeof value === "function" ? (value as () => T)() : value;
}

export interface ParameterDeclaration {
  name: string;
  in: "path" | "query" | "header";
  description?: string;
  required?: boolean;
  schema: JsonSchema;
  /** The problem a value that does not match `schema` is refused with (default: route.ts parameterProblem). Not published. */
  problem?: ProblemType;
}

export interface HeaderDeclaration {
  description: string;
  schema: JsonSchema;
}

export interface ResponseDeclaration {
  description: string;
  /** Media type → schema of the body; omitted for a response without a body. */
  content?: Record<string, Lazy<JsonSchema>>;
  headers?: Record<string, HeaderDeclaration>;
}

export interface RouteDeclaration {
  method: HttpMethod;
  /** Koa form: /v1/reports/:id */
  path: string;
  /** Unique, stable: the OpenAPI operationId. */
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  parameters?: ParameterDeclaration[];
  requestBody?: { description?: string; required: boolean; content: Record<string, Lazy<JsonSchema>> };
  /** Successful (and other non-problem) responses by status code. */
  responses: Record<number, ResponseDeclaration>;
  /**
   * The problem types the handler itself throws. The router adds those it answers for the route
   * (401/403/429 for non-public routes, 400/413/415 for routes with a body, 500/503 for all).
   */
  problems?: readonly ProblemType[];
  /** Named schemas the route's schemas refer to as #/components/schemas/<name>. */
  components?: Lazy<Record<string, JsonSchema>>;
  /**
   * Concrete paths the document lists for a templated one (e.g. one per report for
   * /v1/:collection/:report_name), each with its own request body; the templated path stays too.
   */
  expansions?: Lazy<{ path: string; operationId: string; summary: string; requestBody: JsonSchema; tags?: string[] }[]>;
  /**
   * The problem a body that does not match the declared schema is refused with (the router's
   * default is 400 invalid-body), e.g. 404 unknown-report for a report_name the catalogue lacks.
   */
  refuseBody?: BodyRefusal;
  handler(ctx: Context): unknown;
}

/** Identity, for type checking and so every declaration reads the same. */
export function route(declaration: RouteDeclaration): RouteDeclaration {
  return declaration;
}

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const jsonContent = (schema: Lazy<JsonSchema>) => ({ "application/json": schema });
