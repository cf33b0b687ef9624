/**
 * Serves a fixed set of files (the console bundle, the API documentation viewer) from memory:
 * each file is read and gzipped once, on first request, then answered with its ETag, a
 * Cache-Control chosen per file, and gzip when the client accepts it. Only the listed URL paths
 * are served, so no request can name a file outside the set.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import type { Context, Next } from "koa";

const gzipAsync = promisify(gzip);

/** A year, for files whose name changes whenever their content does. */
export const IMMUTABLE = "public, max-age=31536000, immutable";
/** Cached, but checked with the server (ETag) before each use: for pages that name hashed files. */
export const REVALIDATE = "no-cache";
/** Files with stable names whose content changes with an upgrade (a vendored viewer). */
export const SHORT = "public, max-age=3600";

export interface StaticFile {
  /** Absolute path on disk, or the content itself (a few lines the service writes). */
  file: string | { content: string };
  type: string;
  cacheControl: string;
  /** Extra response headers (e.g. a Content-Security-Policy for pages). */
  headers?: Record<string, string>;
}

interface Loaded {
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

export function serveStatic(files: Map<string, StaticFile>): (ctx: Context, next: Next) => Promise<void> {
  const loaded = new Map<string, Promise<Loaded>>();
  const load = (path: string, file: StaticFile): Promise<Loaded> => {
    let entry = loaded.get(path);
    if (!entry) {
      entry = (async () => {
        const body = typeof file.file === "string" ? await readFile(file.file) : Buffer.from(file.file.content);
        const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
        return { body, gzipped: await gzipAsync(body, { level: 9 }), etag };
      })();
      // A failed read (file missing) is not cached: a later build can still fix it.
      entry.catch(() => loaded.delete(path));
      loaded.set(path, entry);
    }
    return entry;
  };

  return async (ctx, next) => {
    const file = files.get(ctx.path);
    if (!file || (ctx.method !== "GET" && ctx.method !== "HEAD")) return next();
    const { body, gzipped, etag } = await load(ctx.path, file);
    ctx.set("Cache-Control", file.cacheControl);
    ctx.set("ETag", etag);
    ctx.set("Vary", "Accept-Encoding");
    ctx.set("X-Content-Type-Options", "nosniff");
    for (const [name, value] of Object.entries(file.headers ?? {})) ctx.set(name, value);
    ctx.type = file.type;
    if (ctx.get("If-None-Match") === etag) {
      ctx.status = 304;
      return;
    }
    if (ctx.acceptsEncodings("gzip", "identity") === "gzip") {
      ctx.set("Content-Encoding", "gzip");
      ctx.body = gzipped;
    } else {
      ctx.body = body;
    }
  };
}

export function contentType(name: string): string {
  if (name.endsWith(".js")) return "text/javascript; charset=utf-8";
  if (name.endsWith(".css")) return "text/css; charset=utf-8";
  if (name.endsWith(".html")) return "text/html; charset=utf-8";
  if (name.endsWith(".png")) return "image/png";
  if (name.endsWith(".json")) return "application/json";
  return "application/octet-stream";
}
