/**
 * How a `wait=` read (and a held submission) follows a request to its final status
 * (src/requests/waiter.ts, readWhenFinal), with the events a change stream would deliver driven by
 * the test. The race it guards: the `running` and `completed` events arriving one after the other
 * while the first read is still out. An earlier wait woke on `running` and stopped listening;
 * `completed` found no one, and the client was held until its wait ran out (1 poll in 200 of
 * bench:fixed-cost waited its full 30 s). Waits now wake on final statuses only.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { readWhenFinal, StatusWaiter } from "../../src/requests/waiter.ts";
import type { RequestEventListener } from "../../src/requests/events.ts";
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
  const waiter = new StatusWaiter(events);
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
  const waiter = new StatusWaiter(events);
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

test("a held submission: the final status heard before the insert's answer arrived is read once, with no read before it", async () => {
  const events = new DrivenEvents();
  const waiter = new StatusWaiter(events);
  const id = new ObjectId();
  // Registered before the write; the worker finishes the request while the write's answer travels.
  const wait = waiter.wait(String(id), HOUR);
  await events.deliver(id, RequestStatus.Running);
  await events.deliver(id, RequestStatus.Completed);
  let reads = 0;
  const answer = await readWhenFinal(
    waiter,
    String(id),
    HOUR,
    async (): Promise<{ status: RequestStatus }> => (reads++, { status: RequestStatus.Completed }),
    undefined,
    {
      wait,
      doc: { status: RequestStatus.Pending },
    },
  );
  assert.equal(answer, { status: RequestStatus.Completed });
  assert.is(reads, 1);
  assert.is(waiter.waiters, 0);
  waiter.close();
});

test("when the time is up, the answer is one last read", async () => {
  const events = new DrivenEvents();
  const waiter = new StatusWaiter(events);
  let stored: RequestStatus = RequestStatus.Pending;
  let reads = 0;
  const answer = readWhenFinal(waiter, "r", 50, async () => (reads++, { status: stored }));
  await settle();
  stored = RequestStatus.Running; // no event for it reaches the wait: only the last read shows it
  assert.equal(await answer, { status: RequestStatus.Running });
  assert.is(reads, 2);
  assert.is(waiter.waiters, 0);
  waiter.close();
});

test("a client that goes away ends the wait at once", async () => {
  const events = new DrivenEvents();
  const waiter = new StatusWaiter(events);
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
