/**
 * Refuses state-changing requests a browser could send on another site's behalf. A cross-site
 * form or `fetch(…, {mode: "no-cors"})` can POST without a preflight, with no body or a
 * text/plain one, and with access control off (the default) nothing else would stop it. So a
 * POST, PUT, PATCH or DELETE is refused when the browser says it comes from another site
 * (`Sec-Fetch-Site: cross-site`), or when its `Origin` is neither this server's nor PUBLIC_BASE_URL's.
 * Clients that are not browsers send neither header and are unaffected. A body that is not JSON
 * is refused by the router (415), so a request that passes here and carries a body needed a preflight.
 */
import type { Context } from "koa";
import { PROBLEMS, ProblemError } from "./problems.ts";
import type { Guard } from "./router.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export function crossSiteGuard(options: { publicBaseUrl?: string }): Guard {
  const configured = originOf(options.publicBaseUrl);
  return (_route, ctx: Context) => {
    if (SAFE_METHODS.has(ctx.method)) return;
    if (ctx.get("Sec-Fetch-Site").toLowerCase() === "cross-site") {
      throw new ProblemError(PROBLEMS.crossSite, `a ${ctx.method} from another site is refused`);
    }
    const origin = ctx.get("Origin");
    if (!origin) return;
    // Not ctx.origin: Koa 3 answers the Origin header there.
    const own = `${ctx.protocol}://${ctx.host}`;
    if (origin === own || origin === configured) return;
    throw new ProblemError(PROBLEMS.crossSite, `a ${ctx.method} from origin ${origin} is refused; only ${own} may change state`);
  };
}
