/**
 * The TypeScript client's types are generated from the service's OpenAPI document by
 * openapi-typescript (a dependency of clients/typescript, which carries its own TypeScript 5 for
 * it). `npm run generate:client` writes them; the client's test generates them again from the
 * running service and fails when the committed file differs.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";
import { promisify } from "node:util";
import { REPO_ROOT } from "./paths.ts";

export const CLIENT_DIR = path.join(REPO_ROOT, "clients", "typescript");
/** Generated; also what the console imports its wire types from. */
export const CLIENT_TYPES_FILE = path.join(CLIENT_DIR, "src", "openapi.ts");

/** The TypeScript source openapi-typescript makes of the document at `documentUrl` (a URL or a file). */
export async function clientTypesFrom(documentUrl: string): Promise<string> {
  const require = createRequire(path.join(CLIENT_DIR, "package.json"));
  const cli = path.join(path.dirname(require.resolve("openapi-typescript/package.json")), "bin", "cli.js");
  const { stdout } = await promisify(execFile)(
    process.execPath,
    // A schema without properties is any object (not an empty one); defaults do not make a field required.
    [cli, documentUrl, "--empty-objects-unknown", "--default-non-nullable", "false"],
    { maxBuffer: 64 * 1024 * 1024, cwd: CLIENT_DIR },
  );
  return stdout;
}
