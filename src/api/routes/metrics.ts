/** GET /metrics: the API process's series in the Prometheus text format (see metrics/metrics.ts). */
import type { Metrics } from "../../metrics/metrics.ts";
import { route, type Access, type RouteDeclaration } from "../route.ts";

/** `access`: public, or admin when access control is on (the series name reports and routes, not data). */
export function metricsRoutes(metrics: Metrics, access: Access): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/metrics",
      operationId: "metrics",
      summary: "Prometheus metrics of this API process",
      tags: ["health"],
      access,
      responses: { 200: { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { type: "string" } } } },
      handler: async (ctx) => {
        const { contentType, body } = await metrics.render();
        ctx.type = contentType;
        ctx.body = body;
      },
    }),
  ];
}
