// API process entry point: `node dist/src/main/api.js` (MONGODB_URI required).
import process from "node:process";
import { openContext } from "../context.ts";
import { createLogger } from "../log.ts";
import { createApp } from "../api/app.ts";
import { listen } from "../api/listen.ts";

const log = createLogger({ component: "api", pid: process.pid });
try {
  const context = await openContext({ component: "api", log });
  const running = await listen(createApp(context), context.config.port, context.config.host);
  log.info("api.listening", { url: running.url });
  const shutdown = (signal: string) => {
    log.info("api.signal", { signal });
    void running
      .close()
      .then(() => context.close())
      .then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
} catch (error) {
  log.error("api.start_failed", { error });
  process.exit(1);
}
