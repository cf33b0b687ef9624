/** GET /openapi.json (built per request from the routes' declarations: the catalogue is live) and GET /docs (Swagger UI, served from this API). */
import { DOCS_PAGE, DOCS_PAGE_HEADERS } from "../console.ts";
import { buildOpenApi } from "../openapi.ts";
import { jsonContent, route, type RouteDeclaration } from "../route.ts";

/** `allRoutes` returns every route the app serves, these two included. */
export function openApiRoutes(
  allRoutes: () => readonly RouteDeclaration[],
  options: { publicBaseUrl?: string; accessControl: boolean },
): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/openapi.json",
      operationId: "openapi",
      summary: "This document",
      tags: ["discovery"],
      access: "public",
      responses: { 200: { description: "OpenAPI 3.1", content: jsonContent({ type: "object", required: ["openapi", "paths"] }) } },
      handler: (ctx) => {
        ctx.body = buildOpenApi({ routes: allRoutes(), serverUrl: options.publicBaseUrl, accessControl: options.accessControl });
      },
    }),
    route({
      method: "GET",
      path: "/docs",
      operationId: "docs",
      summary: "Interactive API documentation",
      tags: ["discovery"],
      access: "public",
      responses: { 200: { description: "An HTML page", content: { "text/html": { type: "string" } } } },
      handler: (ctx) => {
        // Swagger UI from the swagger-ui-dist package, its files served by this API under /docs/ (no CDN).
        ctx.set(DOCS_PAGE_HEADERS);
        ctx.type = "text/html; charset=utf-8";
        ctx.body = DOCS_PAGE;
      },
    }),
  ];
}
