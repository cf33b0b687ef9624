/**
 * How long a request has been going, and how long the report usually takes: a long report with no
 * clock looks frozen. Pure: unit-tested without a browser.
 */
import { RequestStatus } from "../requests/status.ts";

/** "42 s", "3 min 05 s", "1 h 02 min": a clock a person reads at a glance. */
export function clockText(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** The median run time of past completed runs (null without any): what "usually" means. */
export function usualDurationMs(durations: readonly (number | undefined)[]): number | null {
  const known = durations.filter((d): d is number => typeof d === "number" && d >= 0).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const middle = Math.floor(known.length / 2);
  return known.length % 2 ? known[middle] : Math.round((known[middle - 1] + known[middle]) / 2);
}

/** The line under a running request's status: elapsed time, and the usual one when known. */
export function elapsedLine(status: string, since: string | undefined, now: number, usualMs: number | null): string | null {
  if (!since || (status !== RequestStatus.Pending && status !== RequestStatus.Running)) return null;
  const elapsed = clockText(now - Date.parse(since));
  const verb = status === RequestStatus.Pending ? "Waiting for a worker" : "Running";
  return `${verb} for ${elapsed}${usualMs === null ? "" : `; this report usually takes ${clockText(usualMs)}`}.`;
}
