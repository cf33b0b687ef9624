/**
 * The layers of src/, enforced by `npm run lint` over the sources (type-only imports included, so
 * a type can no more reach up a layer than a value can). Bottom to top; a module imports from its
 * own layer or the ones below, never from above:
 *
 *   0 foundation   configuration, logging, the HTTP listener, the background-service kernel
 *   1 state        reports, results, requests, the database handle, the schedules' documents and store
 *   2 services     the worker, webhooks, the schedule firer, metrics, the index builder (src/indexes.ts)
 *   3 context      what one process shares (src/context.ts)
 *   4 the API
 *   5 entry points src/main/, the runtime shims in workers/, the command line (src/cli/)
 */
const LAYERS = [
  { name: "foundation", path: "^src/(config\\.ts|config/|log\\.ts|http-server\\.ts|background/|data/)" },
  { name: "state", path: "^src/(db\\.ts|reports/|results/|requests/|schedules/(document|store|times|tick-key)\\.ts)" },
  { name: "services", path: "^src/(worker/|webhooks/|schedules/firer\\.ts|metrics/|indexes\\.ts)" },
  { name: "context", path: "^src/context\\.ts" },
  { name: "api", path: "^src/api/" },
  { name: "entry points", path: "^(src/main/|src/cli/|workers/)" },
];

const upward = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `layer-${layer.name.replace(/ /g, "-")}`,
  severity: "error",
  comment: `The ${layer.name} layer imports only from itself and the layers below it (see .dependency-cruiser.cjs).`,
  from: { path: layer.path },
  to: { path: LAYERS.slice(index + 1).map((above) => above.path) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import cycles (type-only ones too) make start-up order fragile and modules impossible to read alone.",
      from: {},
      to: { circular: true },
    },
    {
      name: "every-module-in-a-layer",
      severity: "error",
      comment: "A new top-level module or folder under src/ must be given its layer in .dependency-cruiser.cjs.",
      from: { path: "^src/", pathNot: LAYERS.map((layer) => layer.path) },
      to: {},
    },
    ...upward,
  ],
  options: {
    parser: "swc",
    doNotFollow: { path: "node_modules" },
    // The console is an app of its own (own tsconfig, JSX; it imports nothing from here): not layered.
    exclude: { path: ["node_modules", "^src/console/"] },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js"] },
  },
};
