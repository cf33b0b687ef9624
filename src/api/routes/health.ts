/** Liveness (the process answers) and readiness (it can reach MongoDB right now). */
import type { Database } from "../../db.ts";
import type { Logger } from "../../log.ts";
import { jsonContent, route, type RouteDeclaration } from "../route.ts";

const statusBody = (values: string[], withDetail = false) => ({
  type: "object",
  additionalProperties: false,
  properties: { status: { type: "string", enum: values }, ...(withDetail ? { detail: { type: "string" } } : {}) },
  required: ["status", ...(withDetail ? ["detail"] : [])],
});

export function healthRoutes(database: Database, log?: Logger): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/healthz",
      operationId: "liveness",
      summary: "Liveness: the process answers",
      tags: ["health"],
      access: "public",
      responses: { 200: { description: "The process answers", content: jsonContent(statusBody(["ok"])) } },
      handler: (ctx) => {
        ctx.body = { status: "ok" };
      },
    }),
    route({
      method: "GET",
      path: "/readyz",
      operationId: "readiness",
      summary: "Readiness: MongoDB reachable",
      tags: ["health"],
      access: "public",
      responses: {
        200: { description: "Ready", content: jsonContent(statusBody(["ready"])) },
        503: { description: "MongoDB unreachable", content: jsonContent(statusBody(["unavailable"], true)) },
      },
      handler: async (ctx) => {
        try {
          await database.db.command({ ping: 1 }, { timeoutMS: 2000 });
          ctx.body = { status: "ready" };
        } catch (error) {
          ctx.status = 503;
          // The driver's message names the database's host and port: logged, never sent (the route is public).
          log?.warn("readiness.database_unreachable", { error });
          ctx.body = { status: "unavailable", detail: "the database did not answer" };
        }
      },
    }),
  ];
}
