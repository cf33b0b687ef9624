/** Liveness (the process answers) and readiness (it can reach MongoDB right now). */
import Router from "@koa/router";
import type { Database } from "../../db.ts";

export function healthRoutes(database: Database): Router {
  const router = new Router();
  router.get("/healthz", (ctx) => {
    ctx.body = { status: "ok" };
  });
  router.get("/readyz", async (ctx) => {
    try {
      await database.db.command({ ping: 1 }, { timeoutMS: 2000 });
      ctx.body = { status: "ready" };
    } catch (error) {
      ctx.status = 503;
      ctx.body = { status: "unavailable", detail: error instanceof Error ? error.message : String(error) };
    }
  });
  return router;
}
