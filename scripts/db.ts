/**
 * `npm run db`: a development MongoDB. Prints the URI as the last line of a JSON log entry and
 * runs until interrupted. With MONGODB_URI set there is nothing to start; it says so.
 */
import process from "node:process";
import { createLogger } from "../src/log.ts";
import { startEmbeddedMongo } from "./lib/embedded-mongo.ts";
import { MissingToolError } from "./lib/required-tools.ts";

const log = createLogger({ component: "db" });
if (process.env.MONGODB_URI) {
  log.info("db.external", { uri: process.env.MONGODB_URI });
} else {
  const port = Number(process.env.MONGODB_PORT ?? 27017);
  const server = await startEmbeddedMongo({ port, ownProcessGroup: true }).catch((error: unknown) => {
    if (!(error instanceof MissingToolError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
  log.info("db.listening", { uri: server.uri, note: "mongo-java-server in memory: data is lost when this stops" });
  console.log(`export MONGODB_URI=${server.uri}`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
