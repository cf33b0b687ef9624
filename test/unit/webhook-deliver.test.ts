/**
 * One webhook POST against real local HTTP servers: private addresses refused (also when a name
 * resolves to one at connect time), redirects never followed, slow receivers timed out.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { rejects } from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { postWebhook } from "../../src/webhooks/deliver.ts";

const test = suite("webhook delivery");
const options = { timeoutMs: 500, allowHosts: ["127.0.0.1"] };
const servers: Server[] = [];
let hits: string[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer((req, res) => {
    hits.push(req.url ?? "");
    handler!(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test.before.each(() => {
  hits = [];
});

test.after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("the body and headers arrive; any status is handed back for the caller to judge", async () => {
  let seen: { body: string; signature: string | undefined; type: string | undefined } | undefined;
  const url = await serve((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen = {
        body: Buffer.concat(chunks).toString(),
        signature: req.headers["webhook-signature"] as string,
        type: req.headers["content-type"],
      };
      res.writeHead(503).end();
    });
  });
  assert.is(await postWebhook(`${url}/in`, '{"a":1}', { "webhook-signature": "v1,x" }, options), 503);
  assert.equal(seen, { body: '{"a":1}', signature: "v1,x", type: "application/json" });
});

test("private and loopback addresses are refused without connecting, unless the host is allowed", async () => {
  const url = await serve((_req, res) => res.writeHead(200).end());
  await rejects(() => postWebhook(url, "{}", {}, { ...options, allowHosts: [] }), /refused/);
  await rejects(() => postWebhook("https://10.0.0.1/hook", "{}", {}, options), /refused: 10\.0\.0\.1/);
  await rejects(() => postWebhook("https://[::1]:9/hook", "{}", {}, options), /refused/);
  // A name is checked when the connection is made: localhost resolves to loopback now.
  const port = new URL(url).port;
  await rejects(() => postWebhook(`http://localhost:${port}/hook`, "{}", {}, { ...options, allowHosts: [] }), /refused/);
  await rejects(() => postWebhook(`https://localhost:${port}/hook`, "{}", {}, { ...options, allowHosts: [] }), /now resolves to/);
  assert.equal(hits, [], "no request reached the server");
  assert.is(await postWebhook(url, "{}", {}, options), 200, "the allowed host is called");
});

test("a redirect is not followed: its status is the attempt's answer", async () => {
  const url = await serve((req, res) => {
    if (req.url === "/hook") res.writeHead(307, { Location: "/internal" }).end();
    else res.writeHead(200).end();
  });
  assert.is(await postWebhook(`${url}/hook`, "{}", {}, options), 307);
  assert.equal(hits, ["/hook"]);
});

test("a receiver that does not answer in time fails the attempt", async () => {
  const url = await serve(() => {
    // never answers
  });
  const started = Date.now();
  await rejects(() => postWebhook(url, "{}", {}, options), /no answer within 500 ms/);
  assert.ok(Date.now() - started < 5000);
});

test.run();
