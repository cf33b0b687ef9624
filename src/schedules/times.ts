/**
 * When a schedule runs: cron patterns (five fields, or six with seconds first) read in an IANA
 * timezone by croner, which handles daylight-saving changes: a fixed time that does not exist
 * (spring forward) runs at the first valid time after the gap, a fixed time that occurs twice
 * (fall back) runs once; interval patterns (`*\/30 * * * *`) follow real elapsed time.
 * Pure functions, no clock of their own: every caller passes `now`.
 */
import { Cron } from "croner";

export interface CronSpec {
  cron: string;
  timezone: string;
}

/** How far back missed ticks are counted before the count is reported as "at least". */
export const MISSED_COUNT_LIMIT = 1000;

function pattern(spec: CronSpec): Cron {
  // paused: a Cron is only used here to compute dates; it must never start a timer of its own.
  return new Cron(spec.cron, { timezone: spec.timezone, mode: "5-or-6-parts", paused: true });
}

/** Every reason `spec` cannot be a schedule (empty when it can). */
export function cronProblems(spec: CronSpec, now: Date): { field: string; message: string }[] {
  try {
    new Intl.DateTimeFormat("en", { timeZone: spec.timezone });
  } catch {
    return [{ field: "timezone", message: `${JSON.stringify(spec.timezone)} is not an IANA timezone (e.g. "Europe/Paris", "UTC")` }];
  }
  let next: Date | null;
  try {
    next = pattern(spec).nextRun(now);
  } catch (error) {
    return [{ field: "cron", message: (error as Error).message.replace(/^CronPattern:\s*/, "") }];
  }
  if (!next) return [{ field: "cron", message: "the pattern never matches a date" }];
  return [];
}

/** How many upcoming ticks shortestGap() looks at. */
const GAP_SAMPLE = 500;

/**
 * The shortest time (ms) between two consecutive ticks among the next GAP_SAMPLE after `now`.
 * A cron pattern repeats within a day (or the days it matches), so its closest ticks show among
 * the first few hundred; and if they do not, the sample is so dense its spread proves a gap
 * shorter than the mean.
 */
export function shortestGap(spec: CronSpec, now: Date): number | null {
  const runs = pattern(spec).nextRuns(GAP_SAMPLE, now);
  let shortest: number | null = null;
  for (let i = 1; i < runs.length; i += 1) {
    const gap = runs[i].getTime() - runs[i - 1].getTime();
    if (shortest === null || gap < shortest) shortest = gap;
  }
  return shortest;
}

/** The first `count` run times strictly after `after`. */
export function nextRuns(spec: CronSpec, after: Date, count: number): Date[] {
  return pattern(spec).nextRuns(count, after);
}

export function nextRun(spec: CronSpec, after: Date): Date | null {
  return pattern(spec).nextRun(after);
}

export interface DueTick {
  /** The tick to fire now: the latest one due. */
  tick: Date;
  /** Earlier due ticks not fired (no worker ran at their time); they are not fired late. */
  missed: { count: number; atLeast: boolean; first: Date; last: Date } | null;
  /** What the schedule waits for after this tick. */
  next: Date | null;
}

/**
 * The tick to fire for a schedule whose next run was `due`, at `now`; null when nothing is due.
 * A tick at most `graceMs` late (a busy machine, a worker restarting) is still fired, and the
 * ticks after it in later passes. A tick later than that means no worker ran at its time: every
 * due tick then collapses into one firing of the latest, which reports the others as missed.
 */
export function dueTick(spec: CronSpec, due: Date, now: Date, graceMs = 0): DueTick | null {
  if (due.getTime() > now.getTime()) return null;
  const cron = pattern(spec);
  if (now.getTime() - due.getTime() <= graceMs) return { tick: due, missed: null, next: cron.nextRun(due) };
  let tick = due;
  let lastMissed = due;
  let count = 0;
  let atLeast = false;
  for (let candidate = cron.nextRun(due); candidate && candidate.getTime() <= now.getTime(); candidate = cron.nextRun(candidate)) {
    if (count === MISSED_COUNT_LIMIT) {
      // Stop counting (a long outage of a seconds schedule): jump to the latest due tick.
      atLeast = true;
      const latest = cron.previousRuns(3, new Date(now.getTime() + 1000)).filter((t) => t.getTime() <= now.getTime());
      tick = latest[0] ?? candidate;
      lastMissed = latest[1] ?? tick;
      break;
    }
    count += 1;
    lastMissed = tick;
    tick = candidate;
  }
  return {
    tick,
    missed: count === 0 ? null : { count, atLeast, first: due, last: lastMissed },
    next: cron.nextRun(tick),
  };
}
