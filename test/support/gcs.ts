/**
 * The GCS emulator a test file runs against: fake-gcs-server (a real HTTP server speaking the
 * JSON and upload APIs), one fresh in-memory instance per test file on a free port. The binary
 * comes from the preparation step (tools.ts), never installed here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import process from "node:process";
import { started } from "./started.ts";
import { fakeGcsServerBin } from "./tools.ts";

/** How long a start may take (generous: a loaded machine can be slow to start anything). */
const START_TIMEOUT_MS = Number(process.env.FAKE_GCS_START_TIMEOUT_S ?? 180) * 1000;

export interface FakeGcs {
  /** http://127.0.0.1:PORT — the value for STORAGE_EMULATOR_HOST / apiEndpoint. */
  url: string;
  port: number;
  process: ChildProcess;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
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

/** The emulator ended before it answered (typically: its port was taken meanwhile). */
class EmulatorExitedEarly extends Error {}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new EmulatorExitedEarly(`fake-gcs-server exited (${child.exitCode ?? child.signalCode}) before listening on ${url}`);
    if (child.pid === undefined) throw new Error("fake-gcs-server could not be started");
    try {
      const response = await fetch(`${url}/storage/v1/b`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `fake-gcs-server (pid ${child.pid}) did not answer GET ${url}/storage/v1/b within ${timeoutMs / 1000} s ` +
          "(FAKE_GCS_START_TIMEOUT_S sets the limit); stopped it",
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a fresh emulator (in-memory: it forgets everything when stopped) on `port` or a free one. */
export async function startFakeGcs(options: { port?: number } = {}): Promise<FakeGcs> {
  // The free port can be taken by another process before the emulator binds it: then it exits at
  // once, and another free port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startFakeGcsOn(options.port ?? (await freePort()));
    } catch (error) {
      if (options.port !== undefined || attempt >= 3 || !(error instanceof EmulatorExitedEarly)) throw error;
    }
  }
}

async function startFakeGcsOn(port: number): Promise<FakeGcs> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    fakeGcsServerBin(),
    ["-scheme", "http", "-host", "127.0.0.1", "-port", String(port), "-backend", "memory", "-log-level", "error", "-external-url", url],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  // A test process that dies (failed assertion, uncaught error) takes its emulator with it.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once("error", (error) => reject(new Error(`fake-gcs-server could not be started: ${error.message}`))),
  );
  try {
    await Promise.race([waitUntilUp(url, child, START_TIMEOUT_MS), spawnFailed]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    });
  const stopped = started(`fake-gcs-server ${url}`, stop);
  child.once("exit", stopped);
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
    stop,
  };
}
