/**
 * `npm run chart:query`: writes the queue-depth definition (src/requests/queue-depth.ts) into the
 * Helm chart, where KEDA's mongodb triggers read it, so the autoscaler counts exactly what
 * `/metrics` reports: `query` (due pending + running) for the ScaledObject on the worker Deployment,
 * `dueQuery` (due pending only) for the ScaledJob, whose running requests each have their Job already.
 * A test fails while the chart's copy differs from the code.
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import path from "node:path";
import { COLLECTIONS } from "../src/db.ts";
import { DUE_PENDING, WORKLOAD } from "../src/requests/queue-depth.ts";
import { REPO_ROOT } from "./lib/paths.ts";

export const CHART_QUEUE_FILE = path.join(REPO_ROOT, "deploy", "helm", "mongo-reports", "files", "queue-depth.json");

/** The file's content: the collection and the filters KEDA counts. */
export function chartQueueDefinition(): string {
  return `${JSON.stringify({ collection: COLLECTIONS.requests, query: WORKLOAD, dueQuery: DUE_PENDING }, null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(REPO_ROOT, "dist", "scripts", "chart-query.js")) {
  writeFileSync(CHART_QUEUE_FILE, chartQueueDefinition());
  console.log(`wrote ${path.relative(REPO_ROOT, CHART_QUEUE_FILE)}`);
}
