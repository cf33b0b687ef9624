/**
 * The shared sample_mflix files (never copied into the repo): where they are, loading them into
 * the test database, and reading them as plain objects for independent computations.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import type { Db, Document } from "mongodb";
import { readExtendedJsonLines } from "../../src/data/ejson-lines.ts";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { loadCollection } from "../../scripts/lib/load-collection.ts";

export const MFLIX_DIR = process.env.MFLIX_DIR ?? path.resolve(REPO_ROOT, "..", "shared", "data", "sample_mflix");

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
