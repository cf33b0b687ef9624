/**
 * API and background work together in one process, over an open context: what `npm start`, the
 * tests and the benchmarks run. Production runs them as separate processes (main/api.ts and the
 * worker entry points in workers/, over main/worker.ts).
 */
import { createApp, type ApiApp } from "../api/app.ts";
import { listen } from "../api/listen.ts";
import type { AppContext } from "../context.ts";
import type { Worker } from "../worker/worker.ts";
import { startBackground } from "./background.ts";

export interface RunningService {
  url: string;
  api: ApiApp;
  worker: Worker | null;
  /** Stops the background services (the worker releasing its jobs), then the HTTP server; the context stays open. */
  close(): Promise<void>;
}

export async function startService(
  context: AppContext,
  options: { port: number; host: string; worker?: boolean },
): Promise<RunningService> {
  const api = createApp(context);
  const running = await listen(api, options.port, options.host);
  const background = options.worker === false ? null : startBackground(context);
  return {
    url: running.url,
    api,
    worker: background?.worker ?? null,
    close: async () => {
      await background?.stop();
      await running.close();
    },
  };
}
