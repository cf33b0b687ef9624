/**
 * The tests' one preparation step, run before any suite starts (the test runner calls it; on its
 * own: `node dist/test/support/prepare.js`). Everything it makes is cached between runs, so a
 * suite's set-up only starts servers and never compiles or downloads while other suites wait on
 * their timeouts:
 * - the embedded MongoDB's launcher (Maven resolves mongo-java-server, javac compiles
 *   scripts/mongo-server; recompiled when its sources change);
 * - fake-gcs-server and helm: found in $GOBIN, $(go env GOPATH)/bin or on PATH, else `go install`ed
 *   at their pinned versions (into Go's own bin folder, shared by every clone);
 * - Kubernetes' OpenAPI documents, KEDA's and the Prometheus operator's CRDs, the chart's validation
 *   schemas: `go mod download` of the modules that hold them (into Go's module cache, shared by every clone);
 * - the Python virtual environment `.cache/venv` from test/requirements.txt, rebuilt when that
 *   file changes (its hash is stamped into the venv).
 * Two runs in one clone take turns through a lock, and each step says what it did.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { prepareEmbeddedMongo } from "../../scripts/lib/embedded-mongo.ts";
import { CACHE_DIR } from "../../scripts/lib/paths.ts";
import { findOnPath, GO, MissingToolError, PYTHON, requireTools } from "../../scripts/lib/required-tools.ts";
import {
  GO_TOOLS,
  SCHEMA_MODULES,
  type SchemaModuleName,
  requirementsHash,
  REQUIREMENTS_FILE,
  TOOL_PATHS_FILE,
  TOOLS_CACHE,
  VENV_DIR,
  VENV_STAMP,
  venvIsCurrent,
  type GoToolName,
} from "./tools.ts";

const LOCK_DIR = path.join(CACHE_DIR, "prepare.lock");

function say(message: string): void {
  process.stderr.write(`[prepare] ${message}\n`);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Go's bin folders, most specific first: $GOBIN, each $GOPATH's bin, ~/go/bin. */
function goBinDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.GOBIN) dirs.push(process.env.GOBIN);
  for (const gopath of (process.env.GOPATH ?? "").split(path.delimiter)) if (gopath) dirs.push(path.join(gopath, "bin"));
  if (process.env.HOME) dirs.push(path.join(process.env.HOME, "go", "bin"));
  if (findOnPath("go")) {
    const gobin = execFileSync("go", ["env", "GOBIN"], { encoding: "utf8" }).trim();
    const gopath = execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim().split(path.delimiter)[0];
    dirs.push(...(gobin ? [gobin] : []), path.join(gopath, "bin"));
  }
  return [...new Set(dirs)];
}

function findGoTool(name: GoToolName): string | undefined {
  return findOnPath(name, [...goBinDirs(), process.env.PATH ?? ""].join(path.delimiter));
}

/** A found binary fits when it runs (helm also: major version 4, whose chart API the tests use). */
function fits(name: GoToolName, binary: string): boolean {
  if (name !== "helm") return true;
  try {
    return /^v4\./.test(execFileSync(binary, ["version", "--short"], { encoding: "utf8" }).trim());
  } catch {
    return false;
  }
}

function prepareGoTools(): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const name of Object.keys(GO_TOOLS) as GoToolName[]) {
    const { module, env } = GO_TOOLS[name];
    const override = process.env[env];
    if (override) {
      paths[name] = override;
      say(`${name}: ${override} (from ${env})`);
      continue;
    }
    let binary = findGoTool(name);
    if (binary && fits(name, binary)) {
      paths[name] = binary;
      say(`${name}: ${binary}`);
      continue;
    }
    requireTools([GO], `The tests' ${name} (built from ${module})`, `put ${name} on PATH or set ${env}`);
    const started = Date.now();
    say(`${name}: go install ${module} (first run only; minutes on a busy machine)`);
    execFileSync("go", ["install", module], { stdio: ["ignore", "inherit", "inherit"] });
    binary = findGoTool(name);
    if (!binary || !fits(name, binary))
      throw new Error(`go install ${module} finished, but no fitting ${name} is in ${goBinDirs().join(", ")}`);
    paths[name] = binary;
    say(`${name}: installed ${binary} in ${seconds(started)}`);
  }
  return paths;
}

function prepareSchemas(recorded: Record<string, string>): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const name of Object.keys(SCHEMA_MODULES) as SchemaModuleName[]) {
    const { module, folder } = SCHEMA_MODULES[name];
    if (recorded[name] && existsSync(recorded[name]) && recorded[name].includes(module)) {
      paths[name] = recorded[name];
      say(`${name}: ${recorded[name]}`);
      continue;
    }
    requireTools([GO], `The chart tests' schemas (${module})`);
    const started = Date.now();
    // A module newer than this Go still downloads; `go` reports the version only as an error.
    const info = JSON.parse(execFileSync("go", ["mod", "download", "-json", module], { encoding: "utf8", cwd: CACHE_DIR })) as {
      Dir?: string;
      Error?: string;
    };
    if (!info.Dir) throw new Error(`go mod download ${module}: ${info.Error ?? "no folder"}`);
    paths[name] = path.join(info.Dir, folder);
    say(`${name}: ${paths[name]} (go mod download, ${seconds(started)})`);
  }
  return paths;
}

function prepareVenv(): void {
  if (venvIsCurrent()) {
    say(`python: ${VENV_DIR} (current with test/requirements.txt)`);
    return;
  }
  requireTools([PYTHON], "The tests' Python environment");
  const started = Date.now();
  say(`python: building ${VENV_DIR} from test/requirements.txt (first run, or the file changed)`);
  rmSync(VENV_DIR, { recursive: true, force: true });
  try {
    execFileSync("python3", ["-m", "venv", VENV_DIR], { stdio: ["ignore", "inherit", "inherit"] });
  } catch {
    throw new MissingToolError(`python3 could not make a virtual environment: install ${PYTHON.install}.`);
  }
  const python = path.join(VENV_DIR, "bin", "python");
  execFileSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS_FILE], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  // Stamped last: an interrupted build is never taken for a finished one.
  writeFileSync(VENV_STAMP, `${requirementsHash()}\n`);
  say(`python: built in ${seconds(started)}`);
}

function prepareLauncher(): void {
  const started = Date.now();
  const { classpath } = prepareEmbeddedMongo();
  say(`embedded MongoDB launcher: ${classpath.split(path.delimiter)[0]} (${seconds(started)})`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `work` while holding the clone's preparation lock (another run's build is waited for, not redone). */
async function withLock<T>(work: () => T): Promise<T> {
  mkdirSync(CACHE_DIR, { recursive: true });
  let announced = false;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(path.join(LOCK_DIR, "pid"), "utf8")) || 0;
      } catch {
        // just taken (no pid written yet) or just released
      }
      if (holder && !isAlive(holder)) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (!announced) say(`waiting for another preparation (pid ${holder || "?"}) to finish`);
      announced = true;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  writeFileSync(path.join(LOCK_DIR, "pid"), String(process.pid));
  try {
    return work();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

function readRecorded(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(TOOL_PATHS_FILE, "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}

/** Prepares every tool the tests use; throws (a MissingToolError says what to install) when it cannot. */
export async function prepareTestTools(): Promise<void> {
  await withLock(() => {
    prepareLauncher();
    const paths = { ...prepareGoTools(), ...prepareSchemas(readRecorded()) };
    mkdirSync(TOOLS_CACHE, { recursive: true });
    writeFileSync(TOOL_PATHS_FILE, `${JSON.stringify(paths, null, 2)}\n`);
    prepareVenv();
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    await prepareTestTools();
  } catch (error) {
    say(
      error instanceof MissingToolError
        ? error.message
        : `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  }
}
