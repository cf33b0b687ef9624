/**
 * The sample_mflix subset the repository ships (test/fixtures/sample_mflix, or MFLIX_DIR):
 * loading it into the test database, and reading it as plain objects for independent computations.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Db, Document } from "mongodb";
import { readExtendedJsonLines } from "../../src/data/ejson-lines.ts";
import { MFLIX_DIR } from "../../scripts/lib/paths.ts";
import { loadCollection } from "../../scripts/lib/load-collection.ts";

export { MFLIX_DIR };

export function mflixFile(collection: string): string {
  const file = path.join(MFLIX_DIR, `${collection}.json.gz`);
  if (!existsSync(file)) throw new Error(`sample_mflix file missing: ${file} (set MFLIX_DIR)`);
  return file;
}

export async function loadMflix(db: Db, collections: string[]): Promise<void> {
  for (const collection of collections) await loadCollection(db, collection, mflixFile(collection));
}

/** All documents of one file, parsed exactly as the loader parses them. */
export async function readMflix(collection: string): Promise<Document[]> {
  const all: Document[] = [];
  for await (const batch of readExtendedJsonLines(mflixFile(collection))) all.push(...batch);
  return all;
}
