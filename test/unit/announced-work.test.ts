/**
 * How many requests a worker asks for, from the events it heard (src/worker/announced-work.ts):
 * one when one was announced, a batch when several were, nothing when nothing was, and an
 * unannounced claim at start, after a resync, after a claim that read a full batch and once per
 * sweep; and a claim short because other workers were faster keeps what was announced.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { AnnouncedWork } from "../../src/worker/announced-work.ts";

const test = suite("announced work");
const SWEEP = 1_000;

test("at start a claim asks for every free slot; afterwards only for what was announced", () => {
  const work = new AnnouncedWork(SWEEP);
  const first = work.limit(4, 0);
  assert.is(first.limit, 4);
  work.claimed(first, [], true);
  assert.is(work.limit(4, 10).limit, 0, "nothing announced: no query");
  work.heard("a", "pending");
  const one = work.limit(4, 20);
  assert.is(one.limit, 1);
  work.claimed(one, ["a"], false);
  assert.is(work.limit(4, 30).limit, 0, "the one announced was claimed: nothing after the job finishes");
});

test("a burst is claimed in batches of the free slots, and what others claimed is forgotten", () => {
  const work = new AnnouncedWork(SWEEP);
  work.claimed(work.limit(4, 0), [], true);
  for (const id of ["a", "b", "c", "d", "e", "f"]) work.heard(id, "pending");
  work.heard("f", "running"); // another worker took f
  const batch = work.limit(3, 10);
  assert.is(batch.limit, 3);
  work.claimed(batch, ["a", "b", "c"], false);
  assert.is(work.tracked, 2);
  const rest = work.limit(4, 20);
  assert.is(rest.limit, 2);
  work.claimed(rest, ["d"], true); // e was gone by then (no event yet): the queue was empty
  assert.is(work.tracked, 0);
  assert.is(work.limit(4, 30).limit, 0);
});

test("a full unannounced answer, a resync and each sweep period allow a claim without announcement", () => {
  const work = new AnnouncedWork(SWEEP);
  const start = work.limit(2, 0);
  work.claimed(start, ["x", "y"], false); // full: more may be waiting
  assert.is(work.limit(2, 10).limit, 2);
  assert.is(work.limit(2, 20).limit, 0);
  work.resync();
  assert.is(work.limit(2, 30).limit, 2);
  assert.is(work.limit(2, 40).limit, 0);
  assert.is(work.limit(2, 40 + SWEEP).limit, 2, "once per sweep period");
});

test("a request heard of while a claim was out is kept when that claim came back short", () => {
  const work = new AnnouncedWork(SWEEP);
  work.claimed(work.limit(4, 0), [], true);
  work.heard("a", "pending");
  const asked = work.limit(4, 10);
  work.heard("b", "pending"); // inserted after the claim's query ran
  work.claimed(asked, [], true);
  assert.is(work.limit(4, 20).limit, 1, "b is still announced");
});

test("a batch that lost some of its candidates to other workers keeps what was announced", () => {
  const work = new AnnouncedWork(SWEEP);
  work.claimed(work.limit(4, 0), [], true);
  for (const id of ["a", "b", "c", "d", "e", "f", "g"]) work.heard(id, "pending");
  const batch = work.limit(4, 10);
  // Another worker took a, b and c between this claim's read and its write: not an empty queue.
  work.claimed(batch, ["d"], false);
  assert.is(work.tracked, 6);
  assert.is(work.limit(4, 20).limit, 4, "it claims again for what it heard of");
  work.heard("a", "running");
  work.heard("b", "running");
  work.heard("c", "running");
  assert.is(work.limit(4, 30).limit, 3, "their claims' events take a, b and c off the list");
  work.claimed(work.limit(4, 30), [], true);
  assert.is(work.limit(4, 40).limit, 0, "an exhausted claim: what was heard of is gone");
});

test("beyond the tracking bound it claims as if unannounced", () => {
  const work = new AnnouncedWork(SWEEP, 3);
  work.claimed(work.limit(8, 0), [], true);
  for (const id of ["a", "b", "c", "d", "e"]) work.heard(id, "pending");
  assert.is(work.limit(8, 10).limit, 8);
});

test.run();
