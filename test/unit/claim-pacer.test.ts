/**
 * The claim pacer (src/worker/claim-pacer.ts): a worker that wins its claims claims at once; one
 * that keeps losing to others spreads its claims over up to `maxSpreadMs`; and it comes back down
 * when contention ends. The herd itself, simulated: with the spread, far fewer of N idle workers
 * reach the claim query before the winner's claim event reaches them.
 */
import * as assert from "uvu/assert";
import { ClaimPacer } from "../../src/worker/claim-pacer.ts";
import { suite } from "../support/suite.ts";

const test = suite("claim-pacer");

test("uncontended: no delay, so a lone worker's pickup latency is untouched", () => {
  const pacer = new ClaimPacer(25, 0.2, () => 0.99);
  assert.is(pacer.delayMs(), 0);
  for (let i = 0; i < 10; i++) pacer.record(true);
  assert.is(pacer.delayMs(), 0);
});

test("claims that keep finding nothing widen the spread toward maxSpreadMs, and wins narrow it again", () => {
  const pacer = new ClaimPacer(25, 0.2, () => 1);
  let previous = pacer.delayMs();
  for (let i = 0; i < 30; i++) {
    pacer.record(false);
    assert.ok(pacer.delayMs() > previous, "grows with each loss");
    previous = pacer.delayMs();
  }
  assert.ok(previous > 24.9 && previous <= 25, `close to the maximum (${previous})`);
  for (let i = 0; i < 30; i++) pacer.record(true);
  assert.ok(pacer.delayMs() < 0.1, "back to claiming at once");
});

test("delays are uniform within the spread", () => {
  let next = 0;
  const values = [0, 0.5, 0.999];
  const pacer = new ClaimPacer(20, 1, () => values[next++]);
  pacer.record(false); // contention 1 with weight 1
  assert.equal([pacer.delayMs(), pacer.delayMs(), pacer.delayMs()], [0, 10, 19.98]);
});

test("simulated herd: 50 idle workers, the claim event reaches the others 3 ms after the first claim", () => {
  // Deterministic pseudo-random numbers, so the figure is the same every run.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const workers = Array.from({ length: 50 }, () => new ClaimPacer(25, 0.2, random));
  const eventLatencyMs = 3;
  let claimsWithoutPacing = 0;
  let claimsWithPacing = 0;
  for (let round = 0; round < 200; round++) {
    const delays = workers.map((pacer) => pacer.delayMs());
    const first = Math.min(...delays);
    // Everyone whose timer fires before the winner's claim event arrives runs the claim query.
    const claimers = delays.map((delay, i) => ({ delay, i })).filter(({ delay }) => delay < first + eventLatencyMs);
    const winner = claimers.find(({ delay }) => delay === first)!.i;
    for (const { i } of claimers) workers[i].record(i === winner);
    claimsWithoutPacing += workers.length;
    claimsWithPacing += claimers.length;
  }
  const perRequest = claimsWithPacing / 200;
  assert.is(claimsWithoutPacing / 200, 50);
  assert.ok(perRequest < 15, `claim queries per new request with pacing: ${perRequest.toFixed(1)} of 50`);
});

test.run();
