/**
 * `npm run load-mflix -- <dir>`: imports a sample_mflix mongoexport folder (movies, comments,
 * users, theaters, … as `<collection>.json` or `.json.gz`) into MONGODB_URI / MONGODB_DB.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { loadConfig, requireMongoUri } from "../src/config.ts";
import { connect } from "../src/db.ts";
import { createLogger } from "../src/log.ts";
import { loadCollection } from "./lib/load-collection.ts";

const log = createLogger({ component: "load-mflix" });
const dir = process.argv[2];
if (!dir) {
  log.error("usage", { message: "npm run load-mflix -- <folder with movies.json(.gz), comments.json(.gz), …>" });
  process.exit(2);
}
const config = loadConfig();
const database = await connect(requireMongoUri(config), config.dbName);
try {
  for (const file of readdirSync(dir).sort()) {
    const match = /^([a-z_]+)\.json(\.gz)?$/.exec(file);
    if (!match) continue;
    const started = Date.now();
    const count = await loadCollection(database.db, match[1], path.join(dir, file));
    log.info("collection.loaded", { collection: match[1], documents: count, ms: Date.now() - started });
  }
} finally {
  await database.close();
}
