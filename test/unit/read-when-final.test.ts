/**
 * How a `wait=` read follows a request to its final status (src/requests/waiter.ts, readWhenFinal),
 * with the events a change stream would deliver driven by the test. The race it guards: the
 * `running` and `completed` events arriving one after the other while the first read is still out.
 * The wait heard `running` and stopped listening; `completed` found no one; a read that skipped
 * the re-read for an unfinished status then held the client until its wait ran out (1 poll in 200
 * of bench:fixed-cost waited its full 30 s).
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { readWhenFinal, StatusWaiter } from "../../src/requests/waiter.ts";
import type { RequestEventListener, RequestEvents } from "../../src/requests/events.ts";
import { RequestStatus } from "../../src/requests/status.ts";

const test = suite("read when final");

/** The events a change stream would deliver, each in its own turn of the event loop. */
class DrivenEvents {
  private readonly listeners = new Set<RequestEventListener>();
  subscribe(listener: RequestEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async deliver(id: ObjectId, status: RequestStatus): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    for (const listener of this.listeners) listener.change?.({ id, operation: "update", status });
  }
}

/** Lets every pending callback run: what is settled after this was not waiting on anything. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

const HOUR = 3_600_000;

test("events that arrive while the first read is out lead to a new read, not to a wait until the time is up", async () => {
  const events = new DrivenEvents();
  const waiter = new StatusWaiter(events as unknown as RequestEvents);
  const id = new ObjectId();
  let stored: RequestStatus = RequestStatus.Pending;
  const reads: RequestStatus[] = [];
  let first = true;
  const read = async () => {
    // What the database held when the read reached it; the worker moves on while the answer travels.
    const status = stored;
    reads.push(status);
    if (first) {
      first = false;
      stored = RequestStatus.Running;
      await events.deliver(id, RequestStatus.Running);
      stored = RequestStatus.Completed;
      await events.deliver(id, RequestStatus.Completed);
    }
    return { status };
  };
  let answer: { status: string } | null | undefined;
  void readWhenFinal(waiter, String(id), HOUR, read).then((doc) => (answer = doc));
  await settle();
  assert.equal(answer, { status: RequestStatus.Completed }, "answered with the final document, without waiting for the hour");
  assert.equal(reads, [RequestStatus.Pending, RequestStatus.Completed]);
  assert.is(waiter.waiters, 0, "no wait left registered");
  waiter.close();
});

test("an unfinished status heard while waiting needs no read; the final one is read", async () => {
  const events = new DrivenEvents();
  const waiter = new StatusWaiter(events as unknown as RequestEvents);
  const id = new ObjectId();
  let stored: RequestStatus = RequestStatus.Pending;
  let reads = 0;
  let answer: { status: string } | null | undefined;
  void readWhenFinal(waiter, String(id), HOUR, async () => (reads++, { status: stored })).then((doc) => (answer = doc));
  await settle();
  assert.is(reads, 1);
  stored = RequestStatus.Running;
  await events.deliver(id, RequestStatus.Running);
  await settle();
  assert.is(reads, 1, "running: keep waiting without a read");
  assert.is(answer, undefined);
  stored = RequestStatus.Completed;
  await events.deliver(id, RequestStatus.Completed);
  await settle();
  assert.is(reads, 2);
  assert.equal(answer, { status: RequestStatus.Completed });
  waiter.close();
});

test("a client that goes away ends the wait at once", async () => {
  const events = new DrivenEvents();
  const waiter = new StatusWaiter(events as unknown as RequestEvents);
  const gone = new AbortController();
  let answer: { status: string } | null | undefined;
  void readWhenFinal(waiter, "r", HOUR, async () => ({ status: RequestStatus.Pending }), gone.signal).then((doc) => (answer = doc));
  await settle();
  assert.is(answer, undefined);
  gone.abort();
  await settle();
  assert.equal(answer, { status: RequestStatus.Pending });
  assert.is(waiter.waiters, 0);
  waiter.close();
});

test.run();
