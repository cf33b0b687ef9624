/**
 * The open long-lived requests per caller (src/api/caller-slots.ts), as event streams and waiting
 * reads use them: a key's slots up to the cap, another key's apart, a caller without a key counted
 * by its address, a slot given back once however many ways its request ends, and 0 as no cap.
 */
import * as assert from "uvu/assert";
import type { Context } from "koa";
import { CallerSlots } from "../../src/api/caller-slots.ts";
import { suite } from "../support/suite.ts";

const test = suite("caller-slots");

/** What the access guard leaves on a request: the key's name as `state.owner`, or none with keys off. */
const caller = (owner: string | undefined, ip = "127.0.0.1") => ({ state: { owner }, ip }) as unknown as Context;

test("a key holds up to the cap; another key and another address have their own slots", () => {
  const slots = new CallerSlots(2);
  assert.ok(slots.claim(caller("carol")));
  assert.ok(slots.claim(caller("carol")));
  assert.is(slots.claim(caller("carol")), null);
  assert.is(slots.heldBy(caller("carol")), 2);
  assert.ok(slots.claim(caller("dave")));
  assert.ok(slots.claim(caller(undefined, "10.0.0.1")));
  assert.ok(slots.claim(caller(undefined, "10.0.0.1")));
  assert.is(slots.claim(caller(undefined, "10.0.0.1")), null);
  assert.ok(slots.claim(caller(undefined, "10.0.0.2")));
  // A key is counted by its name wherever it calls from.
  assert.is(slots.claim(caller("carol", "10.0.0.3")), null);
});

test("a slot is given back once, however many ways its request ends", () => {
  const slots = new CallerSlots(1);
  const release = slots.claim(caller("carol"))!;
  release();
  release();
  assert.is(slots.heldBy(caller("carol")), 0);
  assert.ok(slots.claim(caller("carol")));
  assert.is(slots.claim(caller("carol")), null, "the second release did not free a slot it no longer held");
});

test("0 is no cap", () => {
  const slots = new CallerSlots(0);
  for (let i = 0; i < 1000; i++) assert.ok(slots.claim(caller("carol")));
  assert.is(slots.heldBy(caller("carol")), 1000);
});

test.run();
