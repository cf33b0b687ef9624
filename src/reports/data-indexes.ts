/**
 * Indexes on the data the reports read. Each report declares the indexes its pipeline needs
 * (`indexes` in defineReport or in a report_definitions document); this module gathers them and,
 * when CREATE_DATA_INDEXES is on (the default), creates the missing ones. When it is off, index
 * management belongs to an operator, who gets the missing ones in the log (and every declaration
 * in GET /v1/report-definitions/:name).
 *
 * An index counts as present when the collection has one with the same key, whatever its name, so
 * an operator's own index is never duplicated; but not a partial, sparse or collated one, which the
 * planner cannot use for these queries (a partial filter the query does not imply, a collation the
 * aggregation does not ask for).
 *
 * Only the holder of the `indexes` lock creates them (the lock the service's own index builds use,
 * see src/indexes.ts): one data-defined report, or a new code module, then makes one process build
 * on the shared data collections, not every process; the others log `data_indexes.left_to_builder`. Rows never depend on an index: a missing one makes
 * a report slower, not wrong, so failures here are logged and the service keeps running.
 */
import type { Db, Document } from "mongodb";
import type { Logger } from "../log.ts";
import type { ReportDefinition } from "./define.ts";

export interface RequiredIndex {
  collection: string;
  key: Record<string, 1 | -1>;
  /** The reports that declared it. */
  reports: string[];
}

const signature = (collection: string, key: Record<string, unknown>) => `${collection} ${JSON.stringify(Object.entries(key))}`;

/** Every declared index once (same collection and key, in order), with the reports that want it. */
export function requiredIndexes(reports: readonly ReportDefinition<any>[]): RequiredIndex[] {
  const byKey = new Map<string, RequiredIndex>();
  for (const report of reports) {
    for (const index of report.indexes ?? []) {
      const collection = index.collection ?? report.collection;
      const id = signature(collection, index.key);
      const entry = byKey.get(id) ?? { collection, key: { ...index.key }, reports: [] };
      if (!entry.reports.includes(report.name)) entry.reports.push(report.name);
      byKey.set(id, entry);
    }
  }
  return [...byKey.values()].sort((a, b) => signature(a.collection, a.key).localeCompare(signature(b.collection, b.key)));
}

/** The mongosh command that creates `index`, for an operator's log. */
export function createIndexCommand(index: RequiredIndex): string {
  return `db.getCollection(${JSON.stringify(index.collection)}).createIndex(${JSON.stringify(index.key)})`;
}

/** Keys of the collection's indexes; none when the collection does not exist yet. */
async function existingKeys(db: Db, collection: string): Promise<Set<string>> {
  try {
    const indexes = await db.collection(collection).listIndexes().toArray();
    return new Set(indexes.filter(usableAsDeclared).map((index) => signature(collection, index.key as Record<string, unknown>)));
  } catch (error) {
    if ((error as { code?: number }).code === 26) return new Set(); // NamespaceNotFound
    throw error;
  }
}

/** A plain index: no partial filter, not sparse, the simple collation (what a declaration means). */
export function usableAsDeclared(index: Document): boolean {
  return !index.partialFilterExpression && !index.sparse && (!index.collation || index.collation.locale === "simple");
}

/** Held while creating (see above); absent, this process creates on its own. */
export interface BuildLock {
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

export interface DataIndexOptions {
  db: Db;
  /** CREATE_DATA_INDEXES: create what is missing (else only report it). */
  create: boolean;
  log: Logger;
  lock?: BuildLock;
}

/**
 * Ensures the declared indexes as the catalogue changes. Each declaration is handled once per
 * process; runs are serialised, and a failure is logged (and retried on the next change).
 */
export class DataIndexKeeper {
  private readonly handled = new Set<string>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: DataIndexOptions) {}

  /** Queues a pass over `reports`; the promise settles when that pass is done (it never rejects). */
  ensure(reports: readonly ReportDefinition<any>[]): Promise<void> {
    const wanted = requiredIndexes(reports).filter((index) => !this.handled.has(signature(index.collection, index.key)));
    if (wanted.length === 0) return this.queue;
    this.queue = this.queue.then(() => this.pass(wanted));
    return this.queue;
  }

  /** Settles when every queued pass is done. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async pass(wanted: RequiredIndex[]): Promise<void> {
    const { db, create, log, lock } = this.options;
    const missing: RequiredIndex[] = [];
    for (const index of wanted) {
      const id = signature(index.collection, index.key);
      if (this.handled.has(id)) continue;
      try {
        if ((await existingKeys(db, index.collection)).has(id)) this.handled.add(id);
        else missing.push(index);
      } catch (error) {
        log.warn("data_indexes.failed", { collection: index.collection, key: index.key, reports: index.reports, error });
      }
    }
    if (missing.length === 0) return;
    const list = () => missing.map((index) => ({ ...index, command: createIndexCommand(index) }));
    if (!create) {
      // CREATE_DATA_INDEXES=false: the operator's list, with the commands that create them.
      for (const index of missing) this.handled.add(signature(index.collection, index.key));
      log.warn("data_indexes.missing", { indexes: list() });
      return;
    }
    if (lock && !(await lock.acquire().catch(() => false))) {
      // The holder builds them (it sees the same catalogue); a later change here looks again.
      log.info("data_indexes.left_to_builder", { indexes: list() });
      return;
    }
    try {
      for (const index of missing) await this.build(index);
    } finally {
      await lock?.release().catch(() => {});
    }
  }

  private async build(index: RequiredIndex): Promise<void> {
    const { db, log } = this.options;
    try {
      const started = Date.now();
      const name = await db.collection(index.collection).createIndex(index.key);
      this.handled.add(signature(index.collection, index.key));
      log.info("data_indexes.created", {
        collection: index.collection,
        key: index.key,
        name,
        reports: index.reports,
        ms: Date.now() - started,
      });
    } catch (error) {
      log.warn("data_indexes.failed", {
        collection: index.collection,
        key: index.key,
        reports: index.reports,
        error,
        command: createIndexCommand(index),
      });
    }
  }
}
