/**
 * How the lease renewal reads the reply of its raw `update` command, without a database: the
 * collection is a stand-in whose `db.command` answers what the test says a server answered.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId, type Collection } from "mongodb";
import type { RequestDocument } from "../../src/requests/document.ts";
import { RequestSeal } from "../../src/requests/seal.ts";
import { randomBytes } from "node:crypto";
import { RequestStore } from "../../src/requests/store.ts";

const test = suite("store lease renewal reply");
const claim = { id: new ObjectId(), owner: "me", attempt: 1 };

function storeAnswering(reply: Record<string, unknown>): RequestStore {
  const requests = { collectionName: "requests", db: { command: async () => reply } };
  return new RequestStore(requests as unknown as Collection<RequestDocument>, new RequestSeal(randomBytes(32)));
}

test("a matched update is a held lease; an unmatched one a lost lease", async () => {
  assert.is(await storeAnswering({ ok: 1, n: 1, nModified: 1 }).renew(claim, 30_000), true);
  assert.is(await storeAnswering({ ok: 1, n: 0, nModified: 0 }).renew(claim, 30_000), false);
});

test("a write error makes the renewal throw", async () => {
  const store = storeAnswering({ ok: 1, n: 0, writeErrors: [{ index: 0, code: 2, errmsg: "bad" }] });
  await store.renew(claim, 30_000).then(
    () => assert.unreachable("renewal resolved"),
    (error: Error) => assert.match(error.message, /failed/),
  );
});

// An unmet write concern is not in this reply model: driver 7.9 throws MongoWriteConcernError
// for it before the store sees the reply (test/integration/request-store-claim.test.ts shows it with the real
// driver and a reply carrying writeConcernError).

test.run();
