/**
 * Where a request is in its life, as a position that only grows: `<attempts>.<step>`, where step
 * 1 is running, 2 pending (first submitted, or waiting for a retry) and 3 finished. Server-sent
 * events use it as the event id, so a client that reconnects with `Last-Event-ID` is sent every
 * transition it has not seen, rebuilt from the document: the document holds the current state and
 * the attempt count, and between attempts a request is always pending again (a retry) before it
 * runs. Two rarer paths skip a step (a lease that expired is retaken from running; a graceful
 * shutdown gives the attempt back): a reconnecting client is then told the path a retry takes.
 */
import { isFinal, RequestStatus } from "./status.ts";

export interface LifecycleStep {
  attempts: number;
  /** 1 running, 2 pending, 3 finished. */
  step: 1 | 2 | 3;
}

export function lifecycleOf(doc: { status: RequestStatus; attempts?: number }): LifecycleStep {
  const attempts = typeof doc.attempts === "number" && doc.attempts > 0 ? doc.attempts : 0;
  if (isFinal(doc.status)) return { attempts, step: 3 };
  return { attempts, step: doc.status === RequestStatus.Running ? 1 : 2 };
}

export function formatStep(step: LifecycleStep): string {
  return `${step.attempts}.${step.step}`;
}

/** Parses a `Last-Event-ID`; anything else (absent, foreign, garbled) reads as "nothing seen". */
export function parseStep(value: string | undefined): LifecycleStep | null {
  const match = /^(\d{1,6})\.([123])$/.exec(value?.trim() ?? "");
  return match ? { attempts: Number(match[1]), step: Number(match[2]) as 1 | 2 | 3 } : null;
}

export function compareSteps(a: LifecycleStep, b: LifecycleStep): number {
  return a.attempts - b.attempts || a.step - b.step;
}

/**
 * The steps between `seen` (exclusive; null: none seen) and `current` (exclusive), in order:
 * pending at 0 attempts, then running and pending again for each attempt before the current one.
 */
export function missedSteps(seen: LifecycleStep | null, current: LifecycleStep): LifecycleStep[] {
  const path: LifecycleStep[] = [{ attempts: 0, step: 2 }];
  for (let attempt = 1; attempt <= current.attempts; attempt++) {
    path.push({ attempts: attempt, step: 1 });
    if (attempt < current.attempts) path.push({ attempts: attempt, step: 2 });
  }
  return path.filter((step) => compareSteps(step, current) < 0 && (seen === null || compareSteps(step, seen) > 0));
}
