/**
 * API and worker together in one process, over an open context: what `npm start`, the tests and
 * the benchmarks run. Production runs them as separate processes (src/api/server.ts, workers/).
 */
import { createApp, type ApiApp } from "./api/app.ts";
import { listen } from "./api/listen.ts";
import type { AppContext } from "./context.ts";
import { WebhookDispatcher } from "./webhooks/dispatcher.ts";
import { startRetention } from "./worker/retention.ts";
import { createScheduleFirer } from "./schedules/firer.ts";
import { Worker } from "./worker/worker.ts";

export interface RunningService {
  url: string;
  api: ApiApp;
  worker: Worker | null;
  /** Stops the worker (releasing its jobs), then the HTTP server; the context stays open. */
  close(): Promise<void>;
}

export async function startService(
  context: AppContext,
  options: { port: number; host: string; worker?: boolean },
): Promise<RunningService> {
  const api = createApp(context);
  const running = await listen(api, options.port, options.host);
  const worker = options.worker === false ? null : new Worker(context);
  worker?.start();
  // Webhooks go out wherever jobs run.
  const webhooks = options.worker === false ? null : new WebhookDispatcher({ ...context, requests: context.database.requests });
  webhooks?.start();
  // Retention runs beside the worker (one process at a time purges: see worker/retention.ts).
  const retention = worker ? startRetention(context, worker.owner) : null;
  const firer = worker ? createScheduleFirer(context) : null;
  firer?.start();
  return {
    url: running.url,
    api,
    worker,
    close: async () => {
      await firer?.stop();
      await retention?.stop();
      await worker?.stop();
      await webhooks?.stop();
      await running.close();
    },
  };
}
