/**
 * The Helm chart (deploy/helm/mongo-reports), verified without a cluster: `helm lint --strict`,
 * `helm template` with the default values, with KEDA's ScaledObject and with its ScaledJob, every
 * rendered object validated against its schema with unknown fields refused (as `kubectl
 * --validate=strict` would): built-in kinds against Kubernetes' OpenAPI, the KEDA objects against
 * KEDA's CRDs, the ServiceMonitor against the Prometheus operator's. Also the workers' termination
 * grace against their drain setting as the service reads it, the settings each worker pod runs with,
 * and KEDA's queries: the same definitions as /metrics', run against a real server with known requests.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { Ajv, type ValidateFunction } from "ajv";
import { MongoClient, ObjectId } from "mongodb";
import * as assert from "uvu/assert";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { chartQueueDefinition, CHART_QUEUE_FILE } from "../../scripts/chart-query.ts";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config.ts";
import { COLLECTIONS } from "../../src/db.ts";
import { BACKING_OFF, DUE_PENDING, RUNNING, WORKLOAD } from "../../src/requests/queue-depth.ts";
import { duePending } from "../../src/requests/store.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { suite } from "../support/suite.ts";
import { helmBin, kedaCrdDir, kubernetesOpenApiDir, prometheusOperatorCrdDir } from "../support/tools.ts";

const CHART = path.join(REPO_ROOT, "deploy", "helm", "mongo-reports");
const REQUIRED = { mongodb: { uri: "mongodb://mongo-0.mongo,mongo-1.mongo,mongo-2.mongo/?replicaSet=rs0" } };
const KEDA_ON = { ...REQUIRED, keda: { enabled: true, minReplicas: 1, maxReplicas: 20 } };
/** Everything optional switched on: ingress, Deno pool, network policy, ServiceMonitor, GCS key. */
const EVERYTHING = {
  ...KEDA_ON,
  api: { ingress: { enabled: true, host: "reports.example.com", className: "nginx" } },
  denoWorker: { enabled: true },
  networkPolicy: { enabled: true, metricsFrom: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }] },
  serviceMonitor: { enabled: true, apiKeySecret: { name: "prometheus-api-key", key: "key" } },
  gcs: { bucket: "reports", credentials: { existingSecret: "gcs-key" } },
  secrets: { apiKeys: "alice:key1:read,submit", webhookSecret: "whsec_abc" },
};

/** KEDA's other profile, for long reports: one Job per due request, a resident worker Deployment beside. */
const SCALED_JOB = {
  ...EVERYTHING,
  keda: { enabled: true, mode: "scaledJob", scaledJob: { requestsPerJob: 2, maxReplicas: 30 } },
  worker: { replicas: 1 },
};

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: any };

const test = suite("helm chart");
let mongo: TestMongo;
let workDir: string;

test.before(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), "mongo-reports-chart-"));
  mongo = await startTestMongo("helm_chart");
});

test.after(async () => {
  rmSync(workDir, { recursive: true, force: true });
  await mongo?.stop();
});

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(helmBin(), args, { encoding: "utf8", cwd: REPO_ROOT, env: { ...process.env, HELM_CACHE_HOME: workDir } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let valuesFiles = 0;
function render(values: object, release = "reports"): K8sObject[] {
  const file = path.join(workDir, `values-${valuesFiles++}.yaml`);
  writeFileSync(file, JSON.stringify(values));
  const result = helm(["template", release, CHART, "--namespace", "reports", "-f", file]);
  assert.is(result.status, 0, `helm template: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const find = (objects: K8sObject[], kind: string, nameEnd: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name.endsWith(nameEnd));
  assert.ok(found, `a ${kind} named …${nameEnd} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found;
};

/**
 * The settings a container runs with, as the service reads them: the ConfigMap, then the container's
 * own env (less GCS_KEY_FILE, a file only the pod has: the service reads it at start).
 */
function containerConfig(objects: K8sObject[], container: { env?: { name: string; value: string }[] }) {
  const env = Object.fromEntries((container.env ?? []).filter((e) => e.name !== "GCS_KEY_FILE").map((e) => [e.name, e.value]));
  return loadConfig({ ...find(objects, "ConfigMap", "reports").data, ...env, MONGODB_URI: REQUIRED.mongodb.uri });
}

/**
 * Kubernetes' schemas leave objects open (no additionalProperties); the API server in strict field
 * validation refuses unknown fields. Closing every object that lists its properties (and does not
 * say it keeps unknown fields) makes a misspelt field a failure here too.
 */
function closeObjects(schema: any): any {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== "object") return schema;
  const closed: any = {};
  for (const [key, value] of Object.entries(schema))
    closed[key] = key === "enum" || key === "default" || key === "example" ? value : closeObjects(value);
  if (closed.properties && closed.additionalProperties === undefined && !closed["x-kubernetes-preserve-unknown-fields"])
    closed.additionalProperties = false;
  return closed;
}

let kubernetes: { ajv: Ajv; byKind: Map<string, string> } | undefined;
function kubernetesValidator(apiVersion: string, kind: string): ValidateFunction {
  if (!kubernetes) {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const byKind = new Map<string, string>();
    for (const file of readdirSync(kubernetesOpenApiDir()).filter((f) => f.endsWith(".json"))) {
      const document = JSON.parse(readFileSync(path.join(kubernetesOpenApiDir(), file), "utf8"));
      const schemas = document.components?.schemas ?? {};
      ajv.addSchema({ $id: file, components: { schemas: closeObjects(schemas) } });
      for (const [name, schema] of Object.entries<any>(schemas)) {
        for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
          const version = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
          if (!byKind.has(`${version}/${gvk.kind}`)) byKind.set(`${version}/${gvk.kind}`, `${file}#/components/schemas/${name}`);
        }
      }
    }
    kubernetes = { ajv, byKind };
  }
  const ref = kubernetes.byKind.get(`${apiVersion}/${kind}`);
  assert.ok(ref, `Kubernetes ${kubernetesOpenApiDir()} has a schema for ${apiVersion} ${kind}`);
  return kubernetes.ajv.getSchema(ref) ?? kubernetes.ajv.compile({ $ref: ref });
}

/**
 * The custom resources' schemas, by `group/version/kind`: every version each CRD serves, from KEDA's
 * and the Prometheus operator's own CRD files. CEL rules (`x-kubernetes-validations`) are not run.
 */
let customResources: Map<string, { crd: string; validate?: ValidateFunction; schema: any }> | undefined;
function customResourceValidator(apiVersion: string, kind: string): { validate: ValidateFunction; against: string } | undefined {
  if (!customResources) {
    customResources = new Map();
    for (const dir of [kedaCrdDir(), prometheusOperatorCrdDir()])
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
        const crd = parseYaml(readFileSync(path.join(dir, file), "utf8"));
        if (crd?.kind !== "CustomResourceDefinition") continue;
        for (const version of crd.spec.versions.filter((v: any) => v.served))
          customResources.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, {
            crd: file,
            schema: version.schema.openAPIV3Schema,
          });
      }
  }
  const entry = customResources.get(`${apiVersion}/${kind}`);
  if (!entry) return undefined;
  entry.validate ??= new Ajv({ strict: false, validateFormats: false, allErrors: true }).compile(closeObjects(entry.schema));
  return { validate: entry.validate, against: `CRD ${entry.crd}` };
}

/** Validates each object, against its CRD or else Kubernetes' OpenAPI; returns "Kind/name: schema" lines, for the run's record. */
function validateAll(objects: K8sObject[]): string[] {
  const checked: string[] = [];
  for (const object of objects) {
    const label = `${object.kind}/${object.metadata.name}`;
    const { validate, against } = customResourceValidator(object.apiVersion, object.kind) ?? {
      validate: kubernetesValidator(object.apiVersion, object.kind),
      against: "Kubernetes OpenAPI",
    };
    assert.ok(validate(object), `${label} against ${against}: ${JSON.stringify(validate.errors, null, 1)}`);
    checked.push(`${label}: ${against}`);
  }
  return checked;
}

const RECOMMENDED_LABELS = [
  "app.kubernetes.io/name",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
  "app.kubernetes.io/component",
  "app.kubernetes.io/managed-by",
  "helm.sh/chart",
];

test("helm lint --strict passes, with the default values and with everything on", () => {
  for (const values of [{}, REQUIRED, EVERYTHING, SCALED_JOB]) {
    const file = path.join(workDir, `lint-${valuesFiles++}.yaml`);
    writeFileSync(file, JSON.stringify(values));
    const result = helm(["lint", "--strict", CHART, "-f", file]);
    assert.is(result.status, 0, `helm lint --strict with ${JSON.stringify(values)}:\n${result.stdout}${result.stderr}`);
  }
});

test("default values: API, worker, config, secret, PDBs; every object valid against Kubernetes' schemas and labelled as helm.sh recommends", () => {
  const objects = render(REQUIRED);
  assert.equal(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    "ConfigMap/reports-mongo-reports",
    "Deployment/reports-mongo-reports-api",
    "Deployment/reports-mongo-reports-worker",
    "PodDisruptionBudget/reports-mongo-reports-api",
    "PodDisruptionBudget/reports-mongo-reports-worker",
    "Secret/reports-mongo-reports",
    "Service/reports-mongo-reports-api",
    "Service/reports-mongo-reports-worker-metrics",
    "ServiceAccount/reports-mongo-reports",
  ]);
  validateAll(objects);
  for (const object of objects)
    for (const label of RECOMMENDED_LABELS)
      assert.ok(object.metadata.labels?.[label], `${object.kind}/${object.metadata.name} has ${label}`);
  const api = find(objects, "Deployment", "-api").spec.template.spec;
  const container = api.containers[0];
  assert.equal([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path], ["/healthz", "/readyz"]);
  for (const pod of [api, find(objects, "Deployment", "-worker").spec.template.spec]) {
    assert.is(pod.securityContext.runAsNonRoot, true);
    for (const c of pod.containers) {
      assert.is(c.securityContext.readOnlyRootFilesystem, true, `${c.name}: read-only root file system`);
      assert.is(c.securityContext.allowPrivilegeEscalation, false);
      assert.ok(c.resources.requests && c.resources.limits, `${c.name}: resources`);
    }
  }
  assert.is(find(objects, "Deployment", "-worker").spec.replicas, 2, "without KEDA the chart sets the replicas");
});

/** What the API server checks of names and labels beyond the schemas (Kubernetes' validation code). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

test("the longest release name helm allows (53 characters) still gives valid names: Services and Jobs within 63, labels valid", () => {
  const release = `r${"e".repeat(51)}x`;
  for (const values of [EVERYTHING, SCALED_JOB]) {
    const objects = render(values, release);
    for (const object of objects) {
      const { name, labels } = object.metadata;
      assert.ok(name.length <= 63 && DNS_LABEL.test(name), `${object.kind}/${name} (${name.length}) is a DNS label`);
      // KEDA names each Job "<ScaledJob name>-" plus 5 characters, and the Job labels its pods with its name.
      if (object.kind === "ScaledJob") assert.ok(name.length + 6 <= 63, `the Jobs of ${name} fit the job-name label`);
      for (const [key, value] of Object.entries(labels ?? {}))
        assert.ok(value.length <= 63 && LABEL_VALUE.test(value), `${object.kind}/${name}: label ${key}=${value}`);
    }
  }
});

test("the ConfigMap is a configuration the service accepts, with no unknown variable", () => {
  const objects = render({ ...REQUIRED, config: { LOG_LEVEL: "debug", RETENTION_HOURS: 24 } });
  const data = find(objects, "ConfigMap", "reports").data as Record<string, string>;
  const known = new Set(CONFIG_VARIABLES);
  for (const name of Object.keys(data)) assert.ok(known.has(name), `${name} is a setting of the service`);
  const config = loadConfig({ ...data, MONGODB_URI: REQUIRED.mongodb.uri });
  assert.is(config.workerConcurrency, 2);
  assert.is(config.host, "0.0.0.0");
  assert.is(config.retentionMs, 24 * 3_600_000);
});

test("`config` may not set what the chart derives from its values (the ConfigMap, the pods' env, the Secret): it would drift from KEDA's target, the grace, the probes", () => {
  const derived = new Set<string>();
  for (const values of [EVERYTHING, SCALED_JOB]) {
    const objects = render(values);
    for (const name of Object.keys(find(objects, "ConfigMap", "reports").data)) derived.add(name);
    for (const name of Object.keys(find(objects, "Secret", "reports").stringData)) derived.add(name);
    for (const object of objects) {
      const pod = object.spec?.template?.spec ?? object.spec?.jobTargetRef?.template?.spec;
      for (const container of pod?.containers ?? []) for (const e of container.env ?? []) derived.add(e.name);
    }
  }
  derived.delete("LOG_LEVEL"); // the default `config` itself
  const settings = [...derived].filter((name) => CONFIG_VARIABLES.includes(name)).sort();
  assert.ok(
    settings.includes("WORKER_CONCURRENCY") && settings.includes("WORKER_MAX_JOBS") && settings.includes("MONGODB_URI"),
    settings.join(),
  );
  for (const name of settings) {
    const file = path.join(workDir, `derived-${valuesFiles++}.yaml`);
    writeFileSync(file, JSON.stringify({ ...REQUIRED, config: { [name]: "1" } }));
    const result = helm(["template", "reports", CHART, "-f", file]);
    assert.is.not(result.status, 0, `config.${name} refused`);
    assert.match(result.stderr, `config.${name}: set `, `the error names the value to set instead: ${result.stderr}`);
  }
});

test("terminationGracePeriodSeconds covers the worker's drain (SHUTDOWN_GRACE_MS as the service reads it) with time to release", () => {
  for (const shutdownGraceSeconds of [undefined, 0, 45, 600]) {
    const values = shutdownGraceSeconds === undefined ? EVERYTHING : { ...EVERYTHING, worker: { shutdownGraceSeconds } };
    const objects = render(values);
    const config = loadConfig({ ...find(objects, "ConfigMap", "reports").data, MONGODB_URI: REQUIRED.mongodb.uri });
    for (const name of ["-worker", "-worker-deno"]) {
      const grace = find(objects, "Deployment", name).spec.template.spec.terminationGracePeriodSeconds;
      assert.ok(
        grace * 1000 >= config.shutdownGraceMs + 5_000,
        `${name}: terminationGracePeriodSeconds ${grace} s against SHUTDOWN_GRACE_MS ${config.shutdownGraceMs} ms (+5 s to release)`,
      );
    }
  }
});

test("KEDA on: a ScaledObject on the Node worker with the mongodb trigger, valid against KEDA's CRDs; the pool's replicas are left to it", () => {
  const objects = render(EVERYTHING);
  const checked = validateAll(objects);
  for (const line of [
    "ScaledObject/reports-mongo-reports-worker: CRD keda.sh_scaledobjects.yaml",
    "TriggerAuthentication/reports-mongo-reports-mongodb: CRD keda.sh_triggerauthentications.yaml",
    "ServiceMonitor/reports-mongo-reports: CRD monitoring.coreos.com_servicemonitors.yaml",
  ])
    assert.ok(checked.includes(line), `${line} among:\n${checked.join("\n")}`);
  const scaled = find(objects, "ScaledObject", "-worker");
  const worker = find(objects, "Deployment", "-worker");
  assert.is(scaled.spec.scaleTargetRef.name, worker.metadata.name);
  assert.is(worker.spec.replicas, undefined, "no replicas in the Deployment: an upgrade would reset KEDA's");
  assert.equal([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount, scaled.spec.cooldownPeriod], [1, 20, 300]);
  const [trigger] = scaled.spec.triggers;
  assert.is(trigger.type, "mongodb");
  const config = find(objects, "ConfigMap", "reports").data;
  assert.is(trigger.metadata.queryValue, config.WORKER_CONCURRENCY, "target per replica = one worker's concurrency");
  assert.is(trigger.metadata.dbName, config.MONGODB_DB);
  assert.is(trigger.metadata.collection, COLLECTIONS.requests);
  assert.equal(JSON.parse(trigger.metadata.query), WORKLOAD, "the query is the code's definition");
  const auth = find(objects, "TriggerAuthentication", "-mongodb");
  assert.is(trigger.authenticationRef.name, auth.metadata.name);
  assert.equal(auth.spec.secretTargetRef, [
    { parameter: "connectionString", name: find(objects, "Secret", "reports").metadata.name, key: "MONGODB_URI" },
  ]);
  const monitor = find(objects, "ServiceMonitor", "reports");
  assert.equal(
    monitor.spec.endpoints.map((e: any) => [e.port, e.path, e.authorization]),
    [
      ["http", "/metrics", { type: "Bearer", credentials: { name: "prometheus-api-key", key: "key" } }],
      ["metrics", "/metrics", undefined],
    ],
    "the API's /metrics with the admin key (API_KEYS is set), the workers' without",
  );
});

test("KEDA scaledJob: a ScaledJob valid against KEDA's CRD runs WORKER_MAX_JOBS workers on the due count; the resident workers claim nothing", () => {
  const objects = render(SCALED_JOB);
  const checked = validateAll(objects);
  assert.ok(checked.includes("ScaledJob/reports-mongo-reports-worker-job: CRD keda.sh_scaledjobs.yaml"), checked.join("\n"));
  assert.not.ok(
    objects.some((o) => o.kind === "ScaledObject"),
    "no ScaledObject: the Deployment is not scaled",
  );
  const scaled = find(objects, "ScaledJob", "-worker-job").spec;
  assert.equal([scaled.maxReplicaCount, scaled.scalingStrategy.strategy, scaled.rollout.strategy], [30, "accurate", "gradual"]);
  const [trigger] = scaled.triggers;
  assert.is(trigger.type, "mongodb");
  assert.equal(JSON.parse(trigger.metadata.query), DUE_PENDING, "due pending only: a running request has its Job");
  assert.is(trigger.metadata.queryValue, "2", "target per Job = the requests one Job runs");
  assert.is(trigger.authenticationRef.name, find(objects, "TriggerAuthentication", "-mongodb").metadata.name);
  const pod = scaled.jobTargetRef.template.spec;
  assert.is(pod.restartPolicy, "Never");
  const [container] = pod.containers;
  const jobConfig = containerConfig(objects, container);
  assert.is(jobConfig.workerMaxJobs, 2, "each Job's worker claims requestsPerJob requests, then exits");
  assert.ok(jobConfig.workerConcurrency >= 1);
  assert.is(jobConfig.metricsPort, undefined, "a Job serves no metrics");
  assert.ok(pod.terminationGracePeriodSeconds * 1000 >= jobConfig.shutdownGraceMs + 5_000, "an evicted Job's pod drains too");
  assert.is(container.securityContext.readOnlyRootFilesystem, true);
  assert.is(scaled.jobTargetRef.template.metadata.labels["app.kubernetes.io/role"], undefined, "not selected as a resident worker");
  const resident = find(objects, "Deployment", "-worker");
  assert.is(resident.spec.replicas, 1, "the resident pool keeps worker.replicas");
  const residentConfig = containerConfig(objects, resident.spec.template.spec.containers[0]);
  assert.equal(
    [residentConfig.workerConcurrency, residentConfig.workerMaxJobs],
    [0, 0],
    "residents claim nothing and never exit on their own",
  );
  const deno = find(objects, "Deployment", "-worker-deno");
  assert.is(containerConfig(objects, deno.spec.template.spec.containers[0]).workerConcurrency, 2, "the Deno pool is left as it was");
});

test("the chart's copy of the queue definition is the code's (npm run chart:query writes it)", () => {
  assert.equal(JSON.parse(readFileSync(CHART_QUEUE_FILE, "utf8")), JSON.parse(chartQueueDefinition()));
});

test("values.schema.json refuses what would scale wrongly or not at all", () => {
  for (const [values, field] of [
    [{ ...KEDA_ON, keda: { enabled: true, minReplicas: 0 } }, "minReplicas"],
    [{ ...REQUIRED, worker: { concurrency: 0 } }, "concurrency"],
    [{ ...REQUIRED, worker: { shutdownGraceSeconds: "60" } }, "shutdownGraceSeconds"],
    [{ ...REQUIRED, kedaa: { enabled: true } }, "kedaa"],
    [{ ...REQUIRED, keda: { enabled: true, mode: "scaledjob" } }, "mode"],
    [{ ...KEDA_ON, keda: { enabled: true, minReplicas: 5, maxReplicas: 2 } }, "keda.minReplicas (5) must not exceed"],
    [{ ...REQUIRED, serviceMonitor: { enabled: true, apiKeySecret: { name: "prometheus-api-key" } } }, "apiKeySecret/key"],
    [{ ...REQUIRED, keda: { enabled: true, mode: "scaledJob", scaledJob: { requestsPerJob: 0 } } }, "requestsPerJob"],
  ] as const) {
    const file = path.join(workDir, `bad-${valuesFiles++}.yaml`);
    writeFileSync(file, JSON.stringify(values));
    const result = helm(["template", "reports", CHART, "-f", file]);
    assert.is.not(result.status, 0, `refused: ${JSON.stringify(values)}`);
    assert.match(result.stderr, field, `the error names ${field}: ${result.stderr}`);
  }
});

test("the README's values table lists every value", () => {
  const readme = readFileSync(path.join(CHART, "README.md"), "utf8");
  // A value the table names as a whole (resources, config, …) stands for everything under it.
  const listed = (key: string) => readme.includes(`| \`${key}\``);
  const leaves = (value: unknown, prefix: string): string[] =>
    value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0 && !listed(prefix)
      ? Object.entries(value).flatMap(([key, inner]) => leaves(inner, prefix ? `${prefix}.${key}` : key))
      : [prefix];
  for (const key of leaves(parseYaml(readFileSync(path.join(CHART, "values.yaml"), "utf8")), ""))
    assert.ok(readme.includes(`| \`${key}\``), `README lists ${key}`);
});

test("the rendered queries, run on a server with known requests, count the due pending and the running ones (ScaledJob: the due pending)", async () => {
  const objects = render(KEDA_ON);
  const trigger = find(objects, "ScaledObject", "-worker").spec.triggers[0].metadata;
  const client = await MongoClient.connect(mongo.uri);
  try {
    const requests = client.db(mongo.dbName).collection(trigger.collection);
    const now = Date.now();
    const request = (status: string, extra: object = {}) => ({
      _id: new ObjectId(),
      report_name: "top-movies-per-rating",
      params: {},
      status,
      ...extra,
    });
    await requests.insertMany([
      request("pending"), // a Mongo-native insert: no not_before
      request("pending", { not_before: null }),
      request("pending", { not_before: new Date(now - 60_000) }),
      request("pending", { not_before: new Date(now + 3_600_000) }), // a retry waiting out its backoff
      request("pending", { not_before: new Date(now + 60_000) }),
      request("running", { lease: { owner: "w1", until: new Date(now + 30_000) } }),
      request("running", { lease: { owner: "w2", until: new Date(now - 1_000) } }), // expired: still work to do
      request("completed"),
      request("error"),
      request("cancelled"),
    ]);
    // KEDA parses the query as extended JSON and counts with it, as here.
    assert.is(await requests.countDocuments(JSON.parse(trigger.query)), 5, "3 due pending + 2 running");
    const due = find(render(SCALED_JOB), "ScaledJob", "-worker-job").spec.triggers[0].metadata;
    assert.is(await requests.countDocuments(JSON.parse(due.query)), 3, "the ScaledJob's count: the 3 due pending");
    // The parts, as /metrics counts them, and the claim's own definition of due.
    assert.is(await requests.countDocuments(DUE_PENDING), 3);
    assert.is(await requests.countDocuments(duePending(new Date()) as object), 3, "the claim agrees on what is due");
    assert.is(await requests.countDocuments(BACKING_OFF), 2);
    assert.is(await requests.countDocuments(RUNNING), 2);
  } finally {
    await client.close();
  }
});

test.run();
