/**
 * Keeps one new request from sending every idle worker to the claim query at the same instant.
 *
 * Every idle worker hears the same `pending` event. If all claim at once, one wins and the rest
 * run the claim query for nothing (on MongoDB they also race for the same document: write
 * conflicts, retries). Instead each worker waits a random delay before claiming, and drops its
 * claim if the request's next event (its claim by another worker: `running`) arrives first.
 *
 * The spread of that delay is scaled by how contended claims are, which each worker measures for
 * itself: the share of its event-woken claims that found nothing (someone else was faster). A lone
 * worker always finds its request, so its spread falls to zero and it claims at once (pickup
 * latency is untouched); with many idle workers most claims come back empty, the spread grows to
 * `maxSpreadMs`, the earliest of many random delays is still short, and most workers hear the
 * winner's claim before their own timer fires. No worker needs to know how many others there are,
 * and the sweep stays the safety net for anything an event did not lead to.
 */
export class ClaimPacer {
  /** Moving average of "an event-woken claim found nothing": 0 = uncontended, 1 = always beaten. */
  private contention = 0;
  /** Event-woken claims so far, and how many of them found nothing (logged at worker stop, read by bench/fanout.ts). */
  claims = 0;
  emptyClaims = 0;

  constructor(
    private readonly maxSpreadMs = 25,
    /** Weight of the newest observation in the moving average. */
    private readonly weight = 0.2,
    private readonly random: () => number = Math.random,
  ) {}

  /** How long to wait before claiming for a `pending` event (0: claim now). */
  delayMs(): number {
    return this.random() * this.maxSpreadMs * this.contention;
  }

  /** Records whether a claim woken by an event found a request. */
  record(found: boolean): void {
    this.claims += 1;
    if (!found) this.emptyClaims += 1;
    this.contention += this.weight * ((found ? 0 : 1) - this.contention);
  }

  get level(): number {
    return this.contention;
  }
}
