/**
 * Where the programs the tests run are: fake-gcs-server, helm, the Python virtual environment
 * built from test/requirements.txt. The preparation step (prepare.ts, run by the test runner
 * before any suite starts) installs what is missing and records the paths in
 * `.cache/tools/paths.json`; these accessors only read, and never install anything inside a
 * suite: a tool that is not prepared is an error that says how to prepare it.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { CACHE_DIR, REPO_ROOT } from "../../scripts/lib/paths.ts";

export const TOOLS_CACHE = path.join(CACHE_DIR, "tools");
export const TOOL_PATHS_FILE = path.join(TOOLS_CACHE, "paths.json");
export const VENV_DIR = path.join(CACHE_DIR, "venv");
export const REQUIREMENTS_FILE = path.join(REPO_ROOT, "test", "requirements.txt");
/** In the venv: the hash of the requirements it was built from. */
export const VENV_STAMP = path.join(VENV_DIR, "requirements.sha256");

/** Go programs the tests run, with the module version `go install` builds when none is found. */
export const GO_TOOLS = {
  "fake-gcs-server": { module: "github.com/fsouza/fake-gcs-server@v1.55.1", env: "FAKE_GCS_SERVER_BIN" },
  helm: { module: "helm.sh/helm/v4/cmd/helm@v4.3.2", env: "HELM_BIN" },
} as const;
export type GoToolName = keyof typeof GO_TOOLS;

/**
 * Schemas the chart's rendered objects are validated against, from Go module sources (the Go module
 * proxy serves them; no download site needed): Kubernetes' OpenAPI v3 documents, KEDA's CRDs and the
 * Prometheus operator's (its root module's newest version the proxy serves; the ServiceMonitor's
 * `monitoring.coreos.com/v1` is stable).
 */
export const SCHEMA_MODULES = {
  "kubernetes-openapi": { module: "k8s.io/kubernetes@v1.37.2", folder: "api/openapi-spec/v3" },
  "keda-crds": { module: "github.com/kedacore/keda/v2@v2.20.2", folder: "config/crd/bases" },
  "prometheus-operator-crds": {
    module: "github.com/prometheus-operator/prometheus-operator@v0.85.0",
    folder: "example/prometheus-operator-crd",
  },
} as const;
export type SchemaModuleName = keyof typeof SCHEMA_MODULES;

const HOW_TO_PREPARE = "run `node dist/test/support/prepare.js` (npm test and the test runner do it first)";

function recordedPaths(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(TOOL_PATHS_FILE, "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}

function goTool(name: GoToolName): string {
  const override = process.env[GO_TOOLS[name].env];
  if (override) return override;
  const recorded = recordedPaths()[name];
  if (recorded && existsSync(recorded)) return recorded;
  throw new Error(`${name} is not prepared: ${HOW_TO_PREPARE}, or set ${GO_TOOLS[name].env}`);
}

/** The GCS emulator's binary. */
export const fakeGcsServerBin = (): string => goTool("fake-gcs-server");

/** The helm binary (v4). */
export const helmBin = (): string => goTool("helm");

function schemaFolder(name: SchemaModuleName): string {
  const recorded = recordedPaths()[name];
  if (recorded && existsSync(recorded)) return recorded;
  throw new Error(`${SCHEMA_MODULES[name].module}'s ${SCHEMA_MODULES[name].folder} is not prepared: ${HOW_TO_PREPARE}`);
}

/** Kubernetes' OpenAPI v3 documents, one per group-version (`apis__apps__v1_openapi.json`, …). */
export const kubernetesOpenApiDir = (): string => schemaFolder("kubernetes-openapi");

/** KEDA's CustomResourceDefinitions (`keda.sh_scaledobjects.yaml`, …). */
export const kedaCrdDir = (): string => schemaFolder("keda-crds");

/** The Prometheus operator's CustomResourceDefinitions (`monitoring.coreos.com_servicemonitors.yaml`, …). */
export const prometheusOperatorCrdDir = (): string => schemaFolder("prometheus-operator-crds");

/** The sha-256 of test/requirements.txt: the venv is rebuilt when it changes. */
export function requirementsHash(): string {
  return createHash("sha256").update(readFileSync(REQUIREMENTS_FILE)).digest("hex");
}

/** Whether .cache/venv exists and was built from the current test/requirements.txt. */
export function venvIsCurrent(): boolean {
  try {
    return readFileSync(VENV_STAMP, "utf8").trim() === requirementsHash();
  } catch {
    return false;
  }
}

/** A program installed in the venv (`python`, `pytest`, `schemathesis`, …). */
export function venvBin(name: string): string {
  if (!venvIsCurrent())
    throw new Error(`the Python environment ${VENV_DIR} is missing or older than test/requirements.txt: ${HOW_TO_PREPARE}`);
  return process.platform === "win32" ? path.join(VENV_DIR, "Scripts", `${name}.exe`) : path.join(VENV_DIR, "bin", name);
}

/** The venv's Python, with every package of test/requirements.txt installed. */
export const venvPython = (): string => venvBin("python");
