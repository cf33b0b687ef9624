/**
 * The embedded MongoDB for development and tests: mongo-java-server (in-memory backend, with our
 * own oplog so change events have MongoDB's shape), fetched from Maven Central on first use and cached in
 * `.cache/mongo-server`, started by the small launcher in `scripts/mongo-server/`.
 *
 * It is not real MongoDB (its gaps are listed in docs/testing.md); product code never depends on it,
 * and every test runs unchanged against a real replica set through MONGODB_URI.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import process from "node:process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { CACHE_DIR, REPO_ROOT } from "./paths.ts";
import { JAVA, JAVAC, MAVEN, requireTools } from "./required-tools.ts";

const SOURCE_DIR = path.join(REPO_ROOT, "scripts", "mongo-server");
const SERVER_CACHE = path.join(CACHE_DIR, "mongo-server");
const WITHOUT_JAVA = "set MONGODB_URI to a MongoDB of your own";

/**
 * How long a start may take before it is given up (and the process stopped). Generous: a loaded
 * machine (CI runners, laptops compiling something else) can take minutes to start a JVM.
 */
export const EMBEDDED_MONGO_START_TIMEOUT_MS = Number(process.env.EMBEDDED_MONGO_START_TIMEOUT_S ?? 300) * 1000;

export interface EmbeddedMongo {
  uri: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Resolves the jars with Maven and compiles the launcher once per change of either. */
export function prepareEmbeddedMongo(): { classpath: string } {
  // The cache key covers the pom and every Java source, so any change to the launcher recompiles it.
  const sources = readdirSync(SOURCE_DIR)
    .filter((name) => name.endsWith(".java"))
    .sort()
    .map((name) => path.join(SOURCE_DIR, name));
  const hash = createHash("sha256").update(readFileSync(path.join(SOURCE_DIR, "pom.xml")));
  for (const file of sources) hash.update(path.basename(file)).update(readFileSync(file));
  const key = hash.digest("hex").slice(0, 16);
  const dir = path.join(SERVER_CACHE, key);
  const classpathFile = path.join(dir, "classpath.txt");
  if (!existsSync(classpathFile)) {
    requireTools([JAVA, JAVAC, MAVEN], "The embedded MongoDB (compiled once from scripts/mongo-server)", WITHOUT_JAVA);
    // Said only when it happens (the first start, or after the launcher changed): it takes a minute.
    process.stderr.write("Fetching mongo-java-server from Maven Central and compiling its launcher (once; cached in .cache/)…\n");
    const staging = `${dir}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(path.join(staging, "classes"), { recursive: true });
    const depsFile = path.join(staging, "deps.txt");
    execFileSync(
      "mvn",
      [
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        path.join(SOURCE_DIR, "pom.xml"),
        "dependency:build-classpath",
        `-Dmdep.outputFile=${depsFile}`,
      ],
      QUIET,
    );
    const deps = readFileSync(depsFile, "utf8").trim();
    execFileSync("javac", ["-cp", deps, "-d", path.join(staging, "classes"), ...sources], QUIET);
    writeFileSync(path.join(staging, "classpath.txt"), [path.join(dir, "classes"), deps].join(path.delimiter));
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  }
  return { classpath: readFileSync(classpathFile, "utf8").trim() };
}

/**
 * Maven's and javac's own chatter (colour codes, deprecation notes) is of no use to someone starting
 * the service; on failure execFileSync's error carries their output, so nothing is lost.
 */
const QUIET = { stdio: ["ignore", "pipe", "pipe"] as ("ignore" | "pipe")[], encoding: "utf8" as const, maxBuffer: 16 * 1024 * 1024 };

/**
 * Starts a fresh, empty server on `port` (0: any free port) and resolves once it listens.
 *
 * `ownProcessGroup`: for a server that outlives a terminal's Ctrl-C until its parent has shut down
 * gracefully (`npm start`, `npm run db`): SIGINT goes to the whole foreground process group, and the
 * service's workers still need the database while they finish or release their jobs. The parent
 * stops the server itself; if the parent dies, the closed stdin still takes the server down.
 */
export async function startEmbeddedMongo(
  options: { port?: number; host?: string; ownProcessGroup?: boolean } = {},
): Promise<EmbeddedMongo> {
  requireTools([JAVA], "The embedded MongoDB", WITHOUT_JAVA);
  const { classpath } = prepareEmbeddedMongo();
  const child = spawn(
    "java",
    [
      "-XX:+UseSerialGC",
      // The client compiler only: the test server lives for one test file or one benchmark, and
      // the optimising compiler kept recompiling its large request handlers for as long as it ran
      // (about 1 ms of CPU per job after thousands of jobs, as much as serving them; see
      // bench/README.md), a cost MongoDB, compiled ahead of time, does not have.
      "-XX:TieredStopAtLevel=1",
      // Every document and the change events of the last 200,000 writes live in the JVM's heap
      // (about 8 KB per finished request here): a 10-minute soak keeps 230,000 requests, which
      // filled 2 GB and ended in back-to-back full collections of 2 s each. A limit, not a reservation.
      "-Xmx4g",
      // For profiling the test server (for example -XX:StartFlightRecording=filename=server.jfr).
      ...(process.env.EMBEDDED_MONGO_JAVA_OPTS?.split(" ").filter(Boolean) ?? []),
      `-Dorg.slf4j.simpleLogger.defaultLogLevel=${process.env.EMBEDDED_MONGO_LOG ?? "off"}`,
      "-cp",
      classpath,
      "TestMongoServer",
      options.host ?? "127.0.0.1",
      String(options.port ?? 0),
    ],
    // stdin stays open: the launcher exits when it closes, so a crashed parent leaves no server.
    // Its own logging is off unless EMBEDDED_MONGO_LOG names a level (clients killed on purpose
    // in tests make it print stack traces that are not failures).
    { stdio: ["pipe", "pipe", "inherit"], detached: options.ownProcessGroup === true },
  );
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
      child.once("exit", () => resolve());
      child.stdin?.end();
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    });
  let uri: string;
  try {
    uri = await waitUntilListening(child, EMBEDDED_MONGO_START_TIMEOUT_MS);
  } catch (error) {
    // A start that failed or timed out must not leave its JVM behind (it would come up later with
    // nobody to stop it, and keep the test runner's event loop alive).
    await stop();
    throw error;
  }
  return {
    uri,
    process: child,
    stop,
  };
}

/** The URI the launcher prints once it listens; rejects (saying what it waited for) on exit or timeout. */
function waitUntilListening(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new Error(
            `embedded MongoDB (pid ${child.pid}) did not print its "listening" line within ${timeoutMs / 1000} s ` +
              "(EMBEDDED_MONGO_START_TIMEOUT_S sets the limit); stopped it",
          ),
        ),
      timeoutMs,
    );
    lines.on("line", (line) => {
      if (!line.startsWith("{")) return;
      const message = JSON.parse(line) as { event?: string; uri?: string };
      if (message.event === "listening" && message.uri) {
        clearTimeout(timer);
        resolve(message.uri);
      }
    });
    child.once("error", (error) => fail(new Error(`embedded MongoDB could not be started: ${error.message}`)));
    child.once("exit", (code, signal) => fail(new Error(`embedded MongoDB exited (${code ?? signal}) before listening`)));
  });
}
