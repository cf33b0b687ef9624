/**
 * `npm run generate:client`: the TypeScript client's types (clients/typescript/src/openapi.ts)
 * from the OpenAPI document of a throwaway service (embedded MongoDB, code-defined reports only),
 * or of the service at OPENAPI_URL.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { loadConfig } from "../src/config.ts";
import { openContext } from "../src/context.ts";
import { silentLogger } from "../src/log.ts";
import { startService } from "../src/main/service.ts";
import { startEmbeddedMongo } from "./lib/embedded-mongo.ts";
import { CLIENT_TYPES_FILE, clientTypesFrom } from "./lib/client-types.ts";
import { REPO_ROOT } from "./lib/paths.ts";

async function fromThrowawayService(): Promise<string> {
  const mongo = await startEmbeddedMongo();
  try {
    // With a webhook secret (a throwaway one) the document offers callback_url, as deployments with webhooks do.
    const config = loadConfig({
      MONGODB_URI: mongo.uri,
      MONGODB_DB: "openapi",
      PORT: "0",
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString("base64")}`,
    });
    const context = await openContext({ component: "generate-client-types", config, log: silentLogger });
    const running = await startService(context, { port: 0, host: "127.0.0.1", worker: false });
    try {
      return await clientTypesFrom(`${running.url}/openapi.json`);
    } finally {
      await running.close();
      await context.close();
    }
  } finally {
    await mongo.stop();
  }
}

const source = process.env.OPENAPI_URL ? await clientTypesFrom(process.env.OPENAPI_URL) : await fromThrowawayService();
writeFileSync(CLIENT_TYPES_FILE, source);
console.log(`wrote ${path.relative(REPO_ROOT, CLIENT_TYPES_FILE)} (${source.length} characters)`);
