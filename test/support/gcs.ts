/**
 * The GCS emulator a test file runs against: fake-gcs-server (a real HTTP server speaking the
 * JSON and upload APIs), one fresh in-memory instance per test file on a free port. Installed
 * with `go install` on first use when the binary is missing, so a fresh clone needs only Go.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import process from "node:process";

export const FAKE_GCS_MODULE = "github.com/fsouza/fake-gcs-server@v1.55.1";

export interface FakeGcs {
  /** http://127.0.0.1:PORT — the value for STORAGE_EMULATOR_HOST / apiEndpoint. */
  url: string;
  port: number;
  process: ChildProcess;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Where `go install` puts binaries: $GOBIN, else $(go env GOPATH)/bin. */
function goBinDir(): string {
  const gobin = execFileSync("go", ["env", "GOBIN"], { encoding: "utf8" }).trim();
  if (gobin) return gobin;
  const gopath = execFileSync("go", ["env", "GOPATH"], { encoding: "utf8" }).trim().split(path.delimiter)[0];
  return path.join(gopath, "bin");
}

export function fakeGcsBinary(): string {
  if (process.env.FAKE_GCS_SERVER_BIN) return process.env.FAKE_GCS_SERVER_BIN;
  const home = process.env.HOME ?? "";
  // The common case without spawning `go env`: the default GOPATH.
  const usual = path.join(home, "go", "bin", "fake-gcs-server");
  if (home && existsSync(usual)) return usual;
  const binary = path.join(goBinDir(), "fake-gcs-server");
  if (!existsSync(binary)) {
    execFileSync("go", ["install", FAKE_GCS_MODULE], { stdio: ["ignore", "inherit", "inherit"] });
  }
  return binary;
}

/** A port that was free a moment ago (the emulator takes no port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`fake-gcs-server exited with code ${child.exitCode} before listening`);
    try {
      const response = await fetch(`${url}/storage/v1/b`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`fake-gcs-server did not answer at ${url} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a fresh emulator (in-memory: it forgets everything when stopped) on `port` or a free one. */
export async function startFakeGcs(options: { port?: number } = {}): Promise<FakeGcs> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    fakeGcsBinary(),
    ["-scheme", "http", "-host", "127.0.0.1", "-port", String(port), "-backend", "memory", "-log-level", "error", "-external-url", url],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  // A test process that dies (failed assertion, uncaught error) takes its emulator with it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  try {
    await waitUntilUp(url, child);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    url,
    port,
    process: child,
    createBucket: async (name) => {
      const response = await fetch(`${url}/storage/v1/b?project=test`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      if (!response.ok) throw new Error(`creating bucket ${name}: ${response.status} ${await response.text()}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      }),
  };
}
