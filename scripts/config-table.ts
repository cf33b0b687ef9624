/**
 * `npm run docs:config`: writes the configuration table generated from src/config.ts into
 * docs/operations.md, between its config-table markers (a unit test fails when they differ).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { configTable } from "../src/config.ts";
import { REPO_ROOT } from "./lib/paths.ts";

const START = "<!-- config-table:start (npm run docs:config writes it) -->";
const END = "<!-- config-table:end -->";
const file = path.join(REPO_ROOT, "docs", "operations.md");
const text = readFileSync(file, "utf8");
const from = text.indexOf(START);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`${file}: the markers ${START} … ${END} are missing`);
writeFileSync(file, `${text.slice(0, from + START.length)}\n${configTable()}\n${text.slice(to)}`);
console.log(`wrote the configuration table into ${path.relative(REPO_ROOT, file)}`);
