/**
 * `npm start`: the whole service on one machine. API and workers in one process; with no
 * MONGODB_URI, an embedded in-memory MongoDB loaded with the sample_mflix subset the repository
 * ships (real movies and comments); DEMO_MOVIES=N loads N generated movies instead (for large
 * synthetic sets). For production,
 * run the API (`npm run api`) and workers (`npm run worker`, any number) as separate processes.
 */
import process from "node:process";
import { loadConfig } from "../src/config.ts";
import { openContext } from "../src/context.ts";
import { createLogger } from "../src/log.ts";
import { startService } from "../src/main/service.ts";
import { demoDatasetNote, demoSize, movieYears, seedDemoData } from "./lib/demo-data.ts";
import { loadCollection } from "./lib/load-collection.ts";
import { CACHE_DIR, MFLIX_DIR } from "./lib/paths.ts";
import { rmSync } from "node:fs";
import path from "node:path";
import { startEmbeddedMongo, type EmbeddedMongo } from "./lib/embedded-mongo.ts";
import { MissingToolError } from "./lib/required-tools.ts";

const log = createLogger({ component: "service", pid: process.pid });
let embedded: EmbeddedMongo | undefined;
// The files of an in-memory database's requests would outlive it (and be shared by every copy
// started on this machine): a folder per run, removed at exit.
const runFiles =
  process.env.MONGODB_URI || process.env.LOCAL_CSV_DIR ? undefined : path.join(CACHE_DIR, "npm-start", `files-${process.pid}`);
if (runFiles) process.env.LOCAL_CSV_DIR = runFiles;
const removeRunFiles = () => runFiles && rmSync(runFiles, { recursive: true, force: true });
try {
  const base = loadConfig();
  if (!base.mongoUri) {
    log.info("db.embedded_starting", {});
    embedded = await startEmbeddedMongo({ ownProcessGroup: true });
    log.info("db.embedded_ready", { uri: embedded.uri });
  }
  const config = { ...base, mongoUri: base.mongoUri ?? embedded!.uri };
  const context = await openContext({ component: "service", config, log });
  const movies = context.database.db.collection("movies");
  let datasetNote = config.datasetNote;
  if (config.demoData && (await movies.estimatedDocumentCount()) === 0) {
    if (config.demoMovies) {
      const counts = await seedDemoData(context.database.db, demoSize(config.demoMovies));
      log.info("demo_data.generated", { counts });
    } else {
      const counts: Record<string, number> = {};
      for (const name of ["movies", "comments", "users", "theaters"]) {
        counts[name] = await loadCollection(context.database.db, name, path.join(MFLIX_DIR, `${name}.json.gz`));
      }
      log.info("demo_data.loaded", { source: MFLIX_DIR, counts });
      datasetNote ??= demoDatasetNote(counts, await movieYears(context.database.db));
    }
  }
  // The note reaches discovery and the console through the configuration the service reads.
  const service = datasetNote === config.datasetNote ? context : { ...context, config: { ...config, datasetNote } };
  const running = await startService(service, { port: config.port, host: config.host });
  const example = `curl -s -X POST ${running.url}/v1/reports -H 'content-type: application/json' -d '{"report_name":"top-directors-per-movie-rating","top":5}'`;
  log.info("service.ready", { url: running.url, example });
  process.stderr.write(
    `\nmongo-reports is running at ${running.url}\n` +
      `  reports:  curl -s ${running.url}/v1/report-definitions\n` +
      `  submit:   ${example}\n` +
      `  result:   curl -s '${running.url}/v1/reports/<id>?wait=10&page=0&page_size=10'\n` +
      `  console:  ${running.url}/\n\n` +
      (datasetNote ? `${datasetNote}\n\n` : ""),
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("service.signal", { signal });
    await running.close();
    await context.close();
    await embedded?.stop();
    removeRunFiles();
    log.info("service.stopped", { signal });
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
} catch (error) {
  if (error instanceof MissingToolError) {
    // One line that says what to install, not a stack trace.
    log.error("service.start_failed", { reason: error.message });
    process.stderr.write(`\n${error.message}\n`);
  } else {
    log.error("service.start_failed", { error });
  }
  await embedded?.stop();
  removeRunFiles();
  process.exit(1);
}
