/** GET /openapi.json (built per request from the routes' declarations: the catalogue is live) and GET /docs (Swagger UI). */
import { buildOpenApi } from "../openapi.ts";
import { jsonContent, route, type RouteDeclaration } from "../route.ts";

// The page loads Swagger UI from a CDN: the service itself ships no front-end assets.
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mongo-reports API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js" crossorigin></script>
<script>window.ui = SwaggerUIBundle({ url: "./openapi.json", dom_id: "#ui" });</script>
</body>
</html>
`;

/** `allRoutes` returns every route the app serves, these two included. */
export function openApiRoutes(allRoutes: () => readonly RouteDeclaration[], options: { publicBaseUrl?: string }): RouteDeclaration[] {
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
        ctx.body = buildOpenApi({ routes: allRoutes(), serverUrl: options.publicBaseUrl });
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
        ctx.type = "text/html; charset=utf-8";
        ctx.body = DOCS_PAGE;
      },
    }),
  ];
}
