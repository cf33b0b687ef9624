/**
 * The claim loop (src/background/claim-loop.ts) with a claim and a run the test controls: it claims
 * until full, takes batches, coalesces wakes that arrive while it claims, claims again when a job
 * frees a slot, hands back what a claim answered after stop() began, and stops claiming after a
 * failed claim until the next wake. With a prefetch it claims ahead of its free slots, starts the
 * jobs held that way without claiming, hands them back at stop() or when they wait too long,
 * drops the ones withdrawn, and prefetches nothing while its jobs run long.
 */
import * as assert from "uvu/assert";
import { ClaimLoop, type ClaimLoopOptions } from "../../src/background/claim-loop.ts";
import { suite } from "../support/suite.ts";

const test = suite("claim-loop");

/** Lets every promise callback queued so far run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A queue of jobs to claim, jobs that end when the test says, and a record of every claim. */
function harness(overrides: Partial<ClaimLoopOptions<number>> = {}) {
  const queue: number[] = [];
  const asked: number[] = [];
  const finish = new Map<number, () => void>();
  const released: number[] = [];
  const claimErrors: unknown[] = [];
  const loop = new ClaimLoop<number>({
    capacity: 3,
    sweepMs: 60_000,
    claim: async (max) => {
      asked.push(max);
      return queue.splice(0, 1);
    },
    run: (job) => new Promise<void>((resolve) => finish.set(job, resolve)),
    onClaimFailed: (error) => claimErrors.push(error),
    onRunFailed: () => {},
    release: async (jobs) => void released.push(...jobs),
    ...overrides,
  });
  return { loop, queue, asked, finish, released, claimErrors };
}

test("claims until full, asking for the free slots each time", async () => {
  const { loop, queue, asked } = harness();
  queue.push(1, 2, 3, 4);
  loop.start();
  await settle();
  assert.is(loop.active, 3);
  assert.ok(loop.full);
  assert.equal(asked, [3, 2, 1]);
  assert.equal(queue, [4], "the fourth waits for a free slot");
  await loop.stop();
});

test("a claim may answer with a batch: every job of it runs", async () => {
  const { loop, queue, asked } = harness({ claim: async (max) => queue.splice(0, max) });
  queue.push(1, 2, 3, 4, 5);
  loop.start();
  await settle();
  assert.is(loop.active, 3);
  assert.equal(asked, [], "the harness's own claim was replaced");
  assert.equal(queue, [4, 5]);
  await loop.stop();
});

test("a finished job frees a slot and the loop claims again", async () => {
  const { loop, queue, finish } = harness();
  queue.push(1, 2, 3, 4);
  loop.start();
  await settle();
  finish.get(1)!();
  await settle();
  assert.is(loop.active, 3);
  assert.equal(queue, []);
  assert.ok(finish.has(4));
  await loop.stop();
});

test("wakes while a claim is out coalesce into one more round", async () => {
  let answer: (jobs: number[]) => void = () => {};
  let claims = 0;
  const { loop } = harness({
    claim: () => {
      claims += 1;
      return new Promise<number[]>((resolve) => (answer = resolve));
    },
  });
  loop.start();
  assert.is(claims, 1);
  for (let i = 0; i < 10; i++) loop.wake();
  answer([]);
  await settle();
  assert.is(claims, 2, "ten wakes, one more claim");
  answer([]);
  await settle();
  assert.is(claims, 2);
  await loop.stop();
});

test("a claim answered after stop() began is released, not run, and stop() waits for the release", async () => {
  let answer: (jobs: number[]) => void = () => {};
  const { loop, released, finish } = harness({ claim: () => new Promise<number[]>((resolve) => (answer = resolve)) });
  loop.start();
  const stopped = loop.stop();
  assert.is(loop.state, "stopping");
  answer([7]);
  await stopped;
  assert.is(loop.state, "stopped");
  assert.equal(released, [7]);
  assert.is(finish.size, 0);
  assert.is(loop.active, 0);
});

test("without `release`, a claim answered after stop() began still runs, and settled() waits for it", async () => {
  let answer: (jobs: number[]) => void = () => {};
  const { loop, finish } = harness({ claim: () => new Promise<number[]>((resolve) => (answer = resolve)), release: undefined });
  loop.start();
  const stopped = loop.stop();
  answer([7]);
  await stopped;
  assert.is(loop.active, 1);
  let settled = false;
  const waiting = loop.settled().then(() => (settled = true));
  await settle();
  assert.not.ok(settled);
  finish.get(7)!();
  await waiting;
  assert.is(loop.active, 0);
});

test("a failed claim ends the round (the next wake tries again); a rejected run frees its slot", async () => {
  let fail = true;
  const runErrors: unknown[] = [];
  const { loop, queue, claimErrors } = harness({
    claim: async () => {
      if (fail) throw new Error("database away");
      return queue.splice(0, 1);
    },
    run: async () => {
      throw new Error("defect");
    },
    onRunFailed: (error) => runErrors.push(error),
  });
  loop.start();
  await settle();
  assert.is(claimErrors.length, 1);
  fail = false;
  queue.push(1);
  loop.wake();
  await settle();
  assert.is(runErrors.length, 1);
  assert.is(loop.active, 0);
  await loop.stop();
});

test("no claim before start() or after stop()", async () => {
  let claims = 0;
  const { loop } = harness({
    claim: async () => {
      claims += 1;
      return [];
    },
  });
  loop.wake();
  await settle();
  assert.is(claims, 0);
  loop.start();
  await settle();
  assert.is(claims, 1);
  await loop.stop();
  loop.wake();
  await settle();
  assert.is(claims, 1);
});

/** A loop that prefetches: capacity 2, two more held, claims answering from `queue` in batches. */
function prefetching(overrides: Partial<ClaimLoopOptions<number>> = {}) {
  return harness({ capacity: 2, prefetch: 2, ...overrides });
}

test("with a prefetch, a claim asks for the free slots plus the prefetch; jobs beyond the slots wait", async () => {
  const asked: number[] = [];
  const { loop, queue, finish } = prefetching({
    claim: async (max) => {
      asked.push(max);
      return queue.splice(0, max);
    },
  });
  queue.push(1, 2, 3, 4, 5, 6);
  loop.start();
  await settle();
  assert.equal(asked, [4], "one claim: 2 free slots + 2 prefetched");
  assert.is(loop.active, 2);
  assert.equal(loop.waitingJobs, [3, 4]);
  assert.equal([...finish.keys()], [1, 2]);
  await loop.stop();
});

test("a freed slot starts a waiting job without a claim; the loop claims again only when none waits", async () => {
  const asked: number[] = [];
  const { loop, queue, finish } = prefetching({
    claim: async (max) => {
      asked.push(max);
      return queue.splice(0, max);
    },
    release: async () => {},
  });
  queue.push(1, 2, 3, 4, 5, 6, 7, 8);
  loop.start();
  await settle();
  finish.get(1)!();
  await settle();
  finish.get(2)!();
  await settle();
  assert.equal(asked, [4], "jobs 3 and 4 came from the prefetch");
  assert.equal([...finish.keys()], [1, 2, 3, 4]);
  assert.equal(loop.waitingJobs, []);
  finish.get(3)!();
  await settle();
  assert.equal(asked, [4, 3], "a slot free and nothing waiting: 1 free + 2 prefetched");
  assert.ok(finish.has(5));
  assert.equal(loop.waitingJobs, [6, 7]);
  await loop.stop();
});

test("stop() hands back every waiting job, and waits for the release", async () => {
  const released: [number[], string][] = [];
  const { loop, queue, finish } = prefetching({
    claim: async (max) => queue.splice(0, max),
    release: async (jobs, reason) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      released.push([jobs, reason]);
    },
  });
  queue.push(1, 2, 3, 4);
  loop.start();
  await settle();
  await loop.stop();
  assert.equal(released, [[[3, 4], "claimed while stopping"]]);
  assert.equal(loop.waitingJobs, []);
  assert.equal([...finish.keys()], [1, 2], "the waiting jobs never ran");
});

test("a waiting job that finds no slot within maxWaitMs is handed back; a later one waits on", async () => {
  const released: [number[], string][] = [];
  const { loop, queue } = prefetching({
    maxWaitMs: 50,
    claim: async (max) => queue.splice(0, max),
    release: async (jobs, reason) => void released.push([jobs, reason]),
  });
  queue.push(1, 2, 3, 4);
  loop.start();
  await settle();
  assert.equal(loop.waitingJobs, [3, 4]);
  // At least maxWaitMs, however late a busy machine runs the timer.
  const deadline = Date.now() + 30_000;
  while (released.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(released, [[[3, 4], "prefetched, no slot in time"]]);
  assert.equal(loop.waitingJobs, []);
  assert.is(loop.active, 2, "the running jobs are not touched");
  await loop.stop();
  assert.equal(released.length, 1, "nothing left to hand back at stop()");
});

test("withdraw drops waiting jobs so they never run", async () => {
  const { loop, queue, finish } = prefetching({ claim: async (max) => queue.splice(0, max), release: async () => {} });
  queue.push(1, 2, 3, 4);
  loop.start();
  await settle();
  assert.equal(
    loop.withdraw((job) => job === 3),
    [3],
  );
  assert.equal(
    loop.withdraw((job) => job === 1),
    [],
    "a running job is not withdrawn",
  );
  finish.get(1)!();
  finish.get(2)!();
  await settle();
  assert.ok(finish.has(4));
  assert.not.ok(finish.has(3));
  await loop.stop();
});

test("with prefetchWithinMs, jobs that run long shrink the prefetch to none (it starts full: nothing has run yet)", async () => {
  const asked: number[] = [];
  const { loop, queue, finish } = prefetching({
    prefetchWithinMs: 20,
    claim: async (max) => {
      asked.push(max);
      return queue.splice(0, max);
    },
  });
  queue.push(1, 2);
  loop.start();
  await settle();
  assert.equal(asked, [4], "2 free slots + the whole prefetch");
  await new Promise((resolve) => setTimeout(resolve, 120)); // job 1 runs ~120 ms: two slots start ~0.3 jobs in 20 ms
  finish.get(1)!();
  await settle();
  assert.equal(asked, [4, 1], "the free slot only");
  await loop.stop();
});

test("a loop that prefetches must be able to hand jobs back", () => {
  assert.throws(() => harness({ prefetch: 1, release: undefined }), /release/);
});

test.run();
