/**
 * The web console (built from src/console into dist/console by `npm run build`) and the API
 * documentation viewer (Swagger UI from the swagger-ui-dist package): static files served by the
 * API itself, so neither needs anything beyond this machine. The console's page is `/`; its
 * hashed assets live under `/console/`; the viewer's files under `/docs/`.
 */
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Context, Next } from "koa";
import { PROBLEMS, ProblemError } from "./problems.ts";
import { contentType, IMMUTABLE, REVALIDATE, serveStatic, SHORT, type StaticFile } from "./static-files.ts";

/** dist/src/api/console.js → dist/console */
export const CONSOLE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "console");

// Everything the pages load comes from this origin: the policy makes a stray CDN link fail loudly.
const CONSOLE_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
// Swagger UI sets inline styles and shows data: images.
const DOCS_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

function consoleFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(path.join(dir, "index.html"))) return files;
  const page = {
    file: path.join(dir, "index.html"),
    type: contentType(".html"),
    cacheControl: REVALIDATE,
    headers: { "Content-Security-Policy": CONSOLE_POLICY },
  };
  files.set("/", page);
  for (const name of readdirSync(dir)) {
    // Bundled files carry a content hash in their name (scripts/build-console.mjs).
    if (/-[A-Z0-9]{8}\.(js|css)$/.test(name))
      files.set(`/console/${name}`, { file: path.join(dir, name), type: contentType(name), cacheControl: IMMUTABLE });
  }
  return files;
}

export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mongo-reports API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/docs/contrast.css">
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * Swagger UI's own colours for method labels, badges and links fall below a 4.5:1 contrast
 * (axe-core: color-contrast, serious): darker shades of the same hues.
 */
const DOCS_CONTRAST_CSS = `.swagger-ui .opblock .opblock-summary-method { text-shadow: none; }
.swagger-ui .opblock.opblock-get .opblock-summary-method { background: #1f5fa8; }
.swagger-ui .opblock.opblock-post .opblock-summary-method { background: #1a7348; }
.swagger-ui .opblock.opblock-delete .opblock-summary-method { background: #b3261e; }
.swagger-ui .opblock.opblock-put .opblock-summary-method { background: #8a4b00; }
.swagger-ui .opblock.opblock-patch .opblock-summary-method { background: #0f6e66; }
.swagger-ui .info .title small { background: #5c6670; }
.swagger-ui .info .title small.version-stamp { background: #4a6b00; }
.swagger-ui .info .url, .swagger-ui .info a { color: #1f5fbf; }
.swagger-ui .btn.authorize { color: #1a7348; border-color: #1a7348; }
.swagger-ui .btn.authorize svg { fill: #1a7348; }
.swagger-ui .json-schema-2020-12-expand-deep-button { color: #4f5661; }
`;

function docsFiles(): Map<string, StaticFile> {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve("swagger-ui-dist/package.json"));
  const file = (name: string, at: StaticFile["file"] = path.join(dist, name)): StaticFile => ({
    file: at,
    type: contentType(name),
    cacheControl: SHORT,
  });
  return new Map([
    ["/docs/swagger-ui.css", file("swagger-ui.css")],
    ["/docs/swagger-ui-bundle.js", file("swagger-ui-bundle.js")],
    ["/docs/contrast.css", file("contrast.css", { content: DOCS_CONTRAST_CSS })],
    // A file rather than an inline script, so the page's policy can forbid inline scripts.
    ["/docs/init.js", file("init.js", { content: 'window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui" });\n' })],
  ]);
}

/** Policy header for the /docs page itself (served by the OpenAPI routes). */
export const DOCS_PAGE_HEADERS = { "Content-Security-Policy": DOCS_POLICY };

export function consoleAndDocs(options: { consoleDir?: string } = {}): (ctx: Context, next: Next) => Promise<void> {
  const files = new Map([...consoleFiles(options.consoleDir ?? CONSOLE_DIR), ...docsFiles()]);
  const serve = serveStatic(files);
  const built = files.has("/");
  return async (ctx, next) => {
    if (!built && ctx.path === "/" && ctx.method === "GET") {
      throw new ProblemError(PROBLEMS.unavailable, "the web console is not built: `npm run build` bundles it into dist/console");
    }
    return serve(ctx, next);
  };
}
