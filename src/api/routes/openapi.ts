/** GET /openapi.json (generated per request: the catalogue is live) and GET /docs (Swagger UI). */
import Router from "@koa/router";
import type { ReportCatalogue } from "../../reports/registry.ts";
import { buildOpenApi, servedRoutes } from "../openapi.ts";

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

export function openApiRoutes(catalogue: ReportCatalogue, options: { outputs: readonly string[]; publicBaseUrl?: string }): Router {
  const router = new Router();
  router.get("/openapi.json", (ctx) => {
    ctx.body = buildOpenApi({ catalogue, routes: servedRoutes(ctx.app), outputs: options.outputs, serverUrl: options.publicBaseUrl });
  });
  router.get("/docs", (ctx) => {
    ctx.type = "text/html; charset=utf-8";
    ctx.body = DOCS_PAGE;
  });
  return router;
}
