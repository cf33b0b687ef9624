/**
 * When schedules run: daylight-saving days in a timezone, missed ticks collapsing into one, and
 * the per-tick request id every worker derives alike. Pure functions, no database.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { ObjectId } from "mongodb";
import { cronProblems, dueTick, nextRuns, MISSED_COUNT_LIMIT } from "../../src/schedules/times.ts";
import { tickKey } from "../../src/schedules/tick-key.ts";

const test = suite("schedule times");
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const paris = (cron: string) => ({ cron, timezone: "Europe/Paris" });

// Europe/Paris 2026: spring forward on Sunday 29 March (02:00 CET → 03:00 CEST, 01:00 UTC),
// fall back on Sunday 25 October (03:00 CEST → 02:00 CET, 01:00 UTC).

test("spring forward: a daily 08:00 keeps local 08:00, one hour earlier in UTC", () => {
  assert.equal(iso(nextRuns(paris("0 8 * * *"), new Date("2026-03-27T12:00:00Z"), 4)), [
    "2026-03-28T07:00:00.000Z", // CET, UTC+1
    "2026-03-29T06:00:00.000Z", // CEST, UTC+2
    "2026-03-30T06:00:00.000Z",
    "2026-03-31T06:00:00.000Z",
  ]);
});

test("spring forward: a time inside the gap (02:30) runs once, at the first valid time after it (03:00 CEST)", () => {
  assert.equal(iso(nextRuns(paris("30 2 * * *"), new Date("2026-03-27T12:00:00Z"), 3)), [
    "2026-03-28T01:30:00.000Z",
    "2026-03-29T01:00:00.000Z",
    "2026-03-30T00:30:00.000Z",
  ]);
});

test("spring forward: an every-30-minutes pattern follows real time across the gap (no tick doubled or bunched)", () => {
  const runs = nextRuns(paris("*/30 * * * *"), new Date("2026-03-29T00:00:00Z"), 4);
  assert.equal(iso(runs), ["2026-03-29T00:30:00.000Z", "2026-03-29T01:00:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-29T02:00:00.000Z"]);
});

test("fall back: a time that occurs twice (02:30) runs once, at its first occurrence", () => {
  assert.equal(iso(nextRuns(paris("30 2 * * *"), new Date("2026-10-24T12:00:00Z"), 3)), [
    "2026-10-25T00:30:00.000Z", // 02:30 CEST
    "2026-10-26T01:30:00.000Z", // 02:30 CET
    "2026-10-27T01:30:00.000Z",
  ]);
});

test("fall back: an every-30-minutes pattern runs on both occurrences of the repeated hour", () => {
  const runs = nextRuns(paris("*/30 * * * *"), new Date("2026-10-24T23:45:00Z"), 6);
  assert.equal(iso(runs), [
    "2026-10-25T00:00:00.000Z", // 02:00 CEST
    "2026-10-25T00:30:00.000Z", // 02:30 CEST
    "2026-10-25T01:00:00.000Z", // 02:00 CET
    "2026-10-25T01:30:00.000Z", // 02:30 CET
    "2026-10-25T02:00:00.000Z", // 03:00 CET
    "2026-10-25T02:30:00.000Z",
  ]);
});

test("fall back: a weekly Monday 08:00 in New York (DST ends 1 November 2026) keeps local time", () => {
  const runs = nextRuns({ cron: "0 8 * * 1", timezone: "America/New_York" }, new Date("2026-10-25T00:00:00Z"), 2);
  assert.equal(iso(runs), ["2026-10-26T12:00:00.000Z", "2026-11-02T13:00:00.000Z"]);
});

test("a six-field pattern has a seconds field", () => {
  assert.equal(iso(nextRuns({ cron: "*/2 * * * * *", timezone: "UTC" }, new Date("2026-01-01T00:00:03.500Z"), 2)), [
    "2026-01-01T00:00:04.000Z",
    "2026-01-01T00:00:06.000Z",
  ]);
});

test("bad patterns and timezones are refused with the field at fault", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  assert.equal(cronProblems({ cron: "0 8 * * 1", timezone: "Europe/Paris" }, now), []);
  assert.equal(cronProblems({ cron: "61 * * * *", timezone: "UTC" }, now)[0].field, "cron");
  assert.equal(cronProblems({ cron: "* * * *", timezone: "UTC" }, now)[0].field, "cron");
  assert.equal(cronProblems({ cron: "0 0 30 2 *", timezone: "UTC" }, now), [
    { field: "cron", message: "the pattern never matches a date" },
  ]);
  assert.equal(cronProblems({ cron: "* * * * *", timezone: "Mars/Olympus_Mons" }, now)[0].field, "timezone");
});

test("nothing is due before the tick; the tick itself when it is due", () => {
  const spec = { cron: "*/2 * * * * *", timezone: "UTC" };
  const due = new Date("2026-01-01T00:00:04Z");
  assert.is(dueTick(spec, due, new Date("2026-01-01T00:00:03.999Z")), null);
  const step = dueTick(spec, due, new Date("2026-01-01T00:00:04.100Z"))!;
  assert.equal(step.tick, due);
  assert.is(step.missed, null);
  assert.equal(step.next, new Date("2026-01-01T00:00:06Z"));
});

test("missed ticks collapse into one firing of the latest, and say how many were missed", () => {
  const spec = { cron: "0 * * * *", timezone: "UTC" };
  // Due at 08:00, nobody ran until 11:20: 08:00, 09:00 and 10:00 were missed, 11:00 fires.
  const step = dueTick(spec, new Date("2026-01-01T08:00:00Z"), new Date("2026-01-01T11:20:00Z"))!;
  assert.equal(step.tick, new Date("2026-01-01T11:00:00Z"));
  assert.equal(step.missed, { count: 3, atLeast: false, first: new Date("2026-01-01T08:00:00Z"), last: new Date("2026-01-01T10:00:00Z") });
  assert.equal(step.next, new Date("2026-01-01T12:00:00Z"));
});

test("a tick late by less than the grace is fired as itself, then the next one", () => {
  const spec = { cron: "*/2 * * * * *", timezone: "UTC" };
  const due = new Date("2026-01-01T00:00:04Z");
  const late = dueTick(spec, due, new Date("2026-01-01T00:00:07.500Z"), 10_000)!;
  assert.equal(late, { tick: due, missed: null, next: new Date("2026-01-01T00:00:06Z") });
  const then = dueTick(spec, late.next!, new Date("2026-01-01T00:00:07.600Z"), 10_000)!;
  assert.equal(then.tick, new Date("2026-01-01T00:00:06Z"));
  // Past the grace, the same backlog collapses into one firing of the latest tick.
  const collapsed = dueTick(spec, due, new Date("2026-01-01T00:00:20.500Z"), 10_000)!;
  assert.equal(collapsed.tick, new Date("2026-01-01T00:00:20Z"));
  assert.is(collapsed.missed!.count, 8);
});

test("a long outage of a seconds schedule stops counting at the limit but still fires the latest tick", () => {
  const spec = { cron: "* * * * * *", timezone: "UTC" };
  const step = dueTick(spec, new Date("2026-01-01T00:00:00Z"), new Date("2026-01-02T00:00:00.500Z"))!;
  assert.equal(step.tick, new Date("2026-01-02T00:00:00Z"));
  assert.is(step.missed!.atLeast, true);
  assert.is(step.missed!.count, MISSED_COUNT_LIMIT);
  assert.equal(step.missed!.last, new Date("2026-01-01T23:59:59Z"));
});

test("the key of a tick is the same for every worker, distinct per tick and per schedule", () => {
  const a = new ObjectId();
  const b = new ObjectId();
  const tick = new Date("2026-03-29T06:00:00Z");
  assert.is(tickKey(a, tick), tickKey(new ObjectId(a.toHexString()), new Date(tick)));
  assert.is.not(tickKey(a, tick), tickKey(b, tick));
  assert.is.not(tickKey(a, tick), tickKey(a, new Date(tick.getTime() + 1000)));
});

test.run();
