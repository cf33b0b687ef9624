/**
 * docker-compose.yml cannot run here (no Docker engine), so it is checked statically: valid
 * against the Compose Specification's JSON schema, and everything it runs exists (files,
 * Dockerfiles, environment variables the service actually reads).
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { parse } from "yaml";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config.ts";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { Metrics } from "../../src/metrics/metrics.ts";

/** The schema ships in the Compose reference implementation's Go module (fetched from the Go module proxy). */
const COMPOSE_GO = "github.com/compose-spec/compose-go/v2@v2.16.2";
/** Read outside src/config.ts: by the logger (src/log.ts) and by Node itself. */
const OTHER_VARIABLES = ["LOG_LEVEL", "NODE_ENV"];

const test = suite("compose");
const compose = parse(readFileSync(path.join(REPO_ROOT, "docker-compose.yml"), "utf8"), { merge: true });

test("docker-compose.yml is valid against the Compose Specification schema", () => {
  const download = JSON.parse(execFileSync("go", ["mod", "download", "-json", COMPOSE_GO], { encoding: "utf8" })) as { Dir: string };
  const schema = JSON.parse(readFileSync(path.join(download.Dir, "schema", "compose-spec.json"), "utf8"));
  const ajv = new (Ajv2020 as unknown as typeof Ajv2020.default)({ strict: false, allErrors: true });
  const validate: (data: unknown) => boolean = ajv.compile(schema);
  const valid = validate(compose);
  assert.ok(valid, JSON.stringify((validate as unknown as { errors: unknown }).errors, null, 2));
  // The schema accepts nonsense it cannot know about; a deliberately broken copy must fail.
  assert.not.ok(validate({ ...compose, services: { api: { ...compose.services.api, depends_on: 42 } } }));
});

test("MongoDB runs as a replica set initialised on start, and workers can scale", () => {
  const mongo = compose.services.mongo;
  assert.ok(mongo.image.startsWith("mongo:"), "official image");
  assert.ok(mongo.command.includes("--replSet"));
  assert.ok(mongo.healthcheck.test.join(" ").includes("rs.initiate"));
  for (const name of ["api", "worker", "worker-deno"]) {
    assert.is(compose.services[name].depends_on.mongo.condition, "service_healthy", `${name} waits for the replica set`);
    assert.ok(compose.services[name].environment.MONGODB_URI.includes("replicaSet=rs0"));
  }
  // --scale needs services without a fixed container_name or host port.
  assert.is(compose.services.worker.container_name, undefined);
  assert.is(compose.services.worker.ports, undefined);
});

test("the API is published on loopback unless API_BIND says otherwise (keys are off by default)", () => {
  const ports: string[] = compose.services.api.ports;
  assert.is(ports.length, 1);
  assert.match(ports[0], /^\$\{API_BIND:-127\.0\.0\.1\}:3000:3000$/);
  assert.is(compose.services.api.environment.API_KEYS, undefined, "keys come from an override, with API_BIND");
});

test("every command the compose file runs exists", () => {
  for (const [name, service] of Object.entries<any>(compose.services)) {
    const dockerfile =
      service.build === undefined
        ? undefined
        : typeof service.build === "string"
          ? "Dockerfile"
          : (service.build.dockerfile ?? "Dockerfile");
    if (dockerfile) assert.ok(existsSync(path.join(REPO_ROOT, dockerfile)), `${name}: ${dockerfile}`);
    if (!service.build) continue;
    const [program, ...args] = service.command as string[];
    if (program === "node") assert.ok(existsSync(path.join(REPO_ROOT, args[0])), `${name}: ${args[0]} (built by npm run build)`);
    else if (program === "deno") assert.ok(existsSync(path.join(REPO_ROOT, args[args.length - 1])), `${name}: ${args[args.length - 1]}`);
    else if (program === "npm")
      assert.ok(JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts[args[1]], `${name}: npm script ${args[1]}`);
    else assert.unreachable(`${name}: unexpected program ${program}`);
  }
  // The Dockerfiles' own commands and copied paths exist too.
  for (const dockerfile of ["Dockerfile", "Dockerfile.deno"]) {
    const text = readFileSync(path.join(REPO_ROOT, dockerfile), "utf8");
    for (const [, source] of text.matchAll(/^COPY (?!--from)(\S+)/gm))
      assert.ok(existsSync(path.join(REPO_ROOT, source)), `${dockerfile}: COPY ${source}`);
  }
});

test("every environment variable is one the service reads, with a valid value", () => {
  for (const [name, service] of Object.entries<any>(compose.services)) {
    if (!service.build) continue;
    const env = service.environment as Record<string, string>;
    for (const key of Object.keys(env)) {
      assert.ok(CONFIG_VARIABLES.includes(key) || OTHER_VARIABLES.includes(key), `${name}: ${key} is not read by the service`);
    }
    loadConfig(env); // throws on a bad value
  }
});

test("Prometheus scrapes the API and every worker replica on the ports they serve /metrics on", () => {
  const prometheus = compose.services.prometheus;
  assert.ok(prometheus.image.startsWith("prom/prometheus:"));
  const mount = (prometheus.volumes as string[]).find((v) => v.endsWith(":/etc/prometheus/prometheus.yml:ro"));
  assert.ok(mount, "the config file is mounted where --config.file points");
  assert.ok(prometheus.command.includes("--config.file=/etc/prometheus/prometheus.yml"));
  const config = parse(readFileSync(path.join(REPO_ROOT, mount.split(":")[0]), "utf8"));
  const jobs = new Map<string, any>(config.scrape_configs.map((job: any) => [job.job_name, job]));
  // The API: its PORT, /metrics on it.
  const apiPort = loadConfig(compose.services.api.environment).port;
  assert.equal(jobs.get("api").static_configs[0].targets, [`api:${apiPort}`]);
  // Workers: found by DNS (every replica of a scaled service), on the METRICS_PORT they listen on, on all interfaces.
  const workers = jobs.get("worker").dns_sd_configs[0];
  assert.equal([...workers.names].sort(), ["worker", "worker-deno"]);
  for (const name of workers.names as string[]) {
    const config = loadConfig(compose.services[name].environment);
    assert.is(config.metricsPort, workers.port, `${name} serves /metrics on the scraped port`);
    assert.is(config.host, "0.0.0.0", `${name} listens beyond its own loopback`);
  }
  for (const job of jobs.values()) assert.is(job.metrics_path ?? "/metrics", "/metrics");
});

test("the Grafana dashboard is provisioned and every series it queries is one the service exports", async () => {
  const grafana = compose.services.grafana;
  for (const volume of grafana.volumes as string[]) assert.ok(existsSync(path.join(REPO_ROOT, volume.split(":")[0])), volume);
  const dashboard = JSON.parse(readFileSync(path.join(REPO_ROOT, "ops", "grafana", "dashboards", "mongo-reports.json"), "utf8"));
  const exported = new Set((await new Metrics({ knownReport: () => true }).registry.getMetricsAsJSON()).map((m) => m.name));
  exported.add("mongo_reports_queue_depth"); // registered by the API with its collection (watchQueueDepth)
  const queried = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, panel.title);
    for (const target of panel.targets) {
      for (const [name] of target.expr.matchAll(/mongo_reports_[a-z_]+/g)) queried.add(name.replace(/_(bucket|count|sum)$/, ""));
    }
  }
  assert.ok(queried.size >= 12, `the dashboard queries ${queried.size} series`);
  for (const name of queried) assert.ok(exported.has(name), `${name} is not exported`);
});

test.run();
