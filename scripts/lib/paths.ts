/** The repository root, whether running from source (Deno) or from dist/ (Node). */
import { existsSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const CACHE_DIR = path.join(REPO_ROOT, ".cache");

/**
 * The sample_mflix subset shipped with the repository (movies, comments, users, theaters as
 * mongoexport lines, gzip; see its README for the data's quirks). Tests, the demo and the
 * benchmarks read it from here; MFLIX_DIR points them at another copy.
 */
export const MFLIX_DIR = process.env.MFLIX_DIR ?? path.join(REPO_ROOT, "test", "fixtures", "sample_mflix");
