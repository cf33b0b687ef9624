/**
 * What the test helpers have started and not yet stopped (test MongoDBs, GCS emulators, services,
 * child processes), so that a suite whose set-up fails halfway, or whose tear-down throws before
 * reaching its last line, still stops everything it started (suite.ts does it). Without this, a
 * server started before the failing step keeps the test process alive after uvu's summary.
 */

interface Started {
  seq: number;
  what: string;
  stop: () => Promise<unknown>;
}

const running = new Map<number, Started>();
let nextSeq = 0;

/** Records a started resource; call the returned function once it has been stopped. */
export function started(what: string, stop: () => Promise<unknown>): () => void {
  const seq = nextSeq++;
  running.set(seq, { seq, what, stop });
  return () => running.delete(seq);
}

/** A mark to stop from: everything started after it is what a set-up started. */
export function startedMark(): number {
  return nextSeq;
}

/** Stops, newest first, whatever was started after `mark` and is still running; returns what it stopped. */
export async function stopStartedSince(mark: number): Promise<string[]> {
  const stopped: string[] = [];
  for (const entry of [...running.values()].filter((e) => e.seq >= mark).sort((a, b) => b.seq - a.seq)) {
    running.delete(entry.seq);
    try {
      await entry.stop();
      stopped.push(entry.what);
    } catch (error) {
      stopped.push(`${entry.what} (stopping failed: ${error instanceof Error ? error.message : String(error)})`);
    }
  }
  return stopped;
}
