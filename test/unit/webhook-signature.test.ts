/** Webhook signatures checked by an independent implementation (the standardwebhooks package), and the secret format. */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { parseWebhookSecret } from "../../src/config/webhooks.ts";
import { signWebhook } from "../../src/webhooks/signature.ts";

const test = suite("webhook signature");

test("a signed body verifies with the standardwebhooks package; a changed body or id does not", () => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const key = parseWebhookSecret(secret);
  const body = JSON.stringify({ id: "6b0db989e114b418bfeae046", status: "completed", note: "ünïcode ✓" });
  const headers = signWebhook(key, "msg_6b0db989e114b418bfeae046", body);
  const verifier = new Webhook(secret);
  assert.equal(verifier.verify(body, { ...headers }), JSON.parse(body));
  assert.throws(() => verifier.verify(body.replace("completed", "error"), { ...headers }));
  assert.throws(() => verifier.verify(body, { ...headers, "webhook-id": "msg_other" }));
  // Too old a timestamp is refused by receivers (replay protection): ours is the sending time.
  const old = signWebhook(key, "msg_x", body, new Date(Date.now() - 3_600_000));
  assert.throws(() => verifier.verify(body, { ...old }));
});

test("the secret must be whsec_ + base64 of 24 to 64 bytes", () => {
  assert.is(parseWebhookSecret(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).length, 32);
  assert.throws(() => parseWebhookSecret(Buffer.alloc(32).toString("base64")), /whsec_/);
  assert.throws(() => parseWebhookSecret("whsec_not base64!"), /base64/);
  assert.throws(() => parseWebhookSecret(`whsec_${Buffer.alloc(8).toString("base64")}`), /24 to 64 bytes/);
});

test.run();
