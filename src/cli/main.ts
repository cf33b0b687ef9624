#!/usr/bin/env node
/** The `mongo-reports` command (package.json `bin`); everything it does is in cli.ts. */
import process from "node:process";
import { main } from "./cli.ts";

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
