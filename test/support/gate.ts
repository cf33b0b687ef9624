/**
 * A report that runs for as long as the test says, not for as long as the machine is slow: the
 * `gated-rows` fixture (test/fixtures/gated-reports) turns each document let through the gate into a
 * row, and ends when the gate closes. A test that must see a report running (progress, cancel,
 * SSE) opens a gate, submits `gated-rows` with `gate.params`, watches, lets rows through, and closes.
 */
import path from "node:path";
import process from "node:process";
import type { Db } from "mongodb";
import { fileURLToPath } from "node:url";

/** The reports folder to add to `reportsDirs` (REPORTS_DIRS for worker processes): built beside this file. */
export const GATED_REPORTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "gated-reports");

export interface Gate {
  /** The request parameters of a run behind this gate. */
  params: { gate: string; since_s: number };
  /** Lets `count` rows through (titles `row 1`, `row 2`, … continuing across calls). */
  pass(count?: number): Promise<void>;
  /** Ends every run behind any gate (their change streams are invalidated). */
  close(): Promise<void>;
}

let gates = 0;
let lastClosedAtMs = 0;

export async function openGate(db: Db): Promise<Gate> {
  // A run replays the gate's history from `since_s` on, in whole seconds: a gate closed (dropped)
  // in the same second would end the new run at once, so a new gate opens in a later second.
  // A timer may fire a millisecond early (Node rounds its due time), and a gate opened at x.999
  // would replay the drop of x.2: wait until the clock really is past that second.
  const earliest_s = lastClosedAtMs ? Math.floor(lastClosedAtMs / 1000) + 1 : 0;
  while (Date.now() < earliest_s * 1000) await new Promise((resolve) => setTimeout(resolve, earliest_s * 1000 - Date.now() + 1));
  const gate = `gate-${process.pid}-${gates++}`;
  const since_s = Math.max(Math.floor(Date.now() / 1000), earliest_s);
  const collection = db.collection("gate");
  // Dropping only ends a stream when there is a collection to drop.
  if ((await db.listCollections({ name: "gate" }).toArray()).length === 0) await db.createCollection("gate").catch(() => {});
  let passed = 0;
  return {
    params: { gate, since_s },
    pass: async (count = 1) => {
      const docs = Array.from({ length: count }, () => ({ gate, title: `row ${++passed}` }));
      await collection.insertMany(docs);
    },
    close: async () => {
      await collection.drop().catch(() => {}); // already dropped by another gate: fine
      lastClosedAtMs = Date.now();
    },
  };
}
