/**
 * The server-sent events watch after shutdown, without a database: nothing is read in these
 * tests, so the collection and the event source are stand-ins.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId, type Collection } from "mongodb";
import { silentLogger } from "../../src/log.ts";
import type { RequestDocument } from "../../src/requests/document.ts";
import type { RequestEvents } from "../../src/requests/events.ts";
import { RequestWatch } from "../../src/requests/watch.ts";

const test = suite("request watch");

function newWatch(): RequestWatch {
  const events = { subscribe: () => () => {} } as unknown as RequestEvents;
  return new RequestWatch({} as Collection<RequestDocument>, events, 60_000, silentLogger);
}

test("close ends every connection following a request", () => {
  const watch = newWatch();
  let ended = 0;
  watch.follow(new ObjectId(), { update: () => {}, end: () => (ended += 1) });
  watch.close();
  assert.is(ended, 1);
  assert.is(watch.followers, 0);
});

test("a connection that follows after close is ended at once and not kept", () => {
  const watch = newWatch();
  watch.close();
  let ended = 0;
  const unfollow = watch.follow(new ObjectId(), { update: () => {}, end: () => (ended += 1) });
  const followers = watch.followers;
  unfollow(); // without the fix this clears the interval the late follow started, so the test process can exit
  assert.is(ended, 1);
  assert.is(followers, 0);
});

test.run();
