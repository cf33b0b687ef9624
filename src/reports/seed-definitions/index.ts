/**
 * The data-defined reports this service ships: every module in this folder default-exports one
 * report_definitions document. Found by listing the folder, so adding a seed is adding a file.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SEED_DIR = fileURLToPath(new URL("./", import.meta.url));

export async function loadSeedDefinitions(dir = SEED_DIR): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir))
    .filter((f) => (f.endsWith(".ts") || f.endsWith(".js")) && !f.endsWith(".d.ts") && !f.startsWith("index."))
    .sort();
  const seeds: Record<string, unknown>[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: Record<string, unknown> };
    if (!module.default || typeof module.default !== "object") throw new Error(`${file} does not default-export a report definition`);
    seeds.push(module.default);
  }
  return seeds;
}
