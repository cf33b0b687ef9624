/**
 * The query table of src/requests/README.md, made executable: its rows, the code that makes each
 * row's queries (run against a database, with the driver's command monitoring capturing what is
 * sent), and the index each row names. Used by test/integration/query-table.test.ts (each captured
 * query is served by its row's index, by the planner's rules) and by
 * test/integration/real-mongodb.test.ts (the same queries through `explain` on a real server).
 */
import { readFileSync } from "node:fs";
import { ObjectId, type CommandStartedEvent, type Document, type MongoClient } from "mongodb";
import { COLLECTIONS, type Database } from "../../src/db.ts";
import { SERVICE_INDEXES } from "../../src/indexes.ts";
import { Metrics } from "../../src/metrics/metrics.ts";
import { recordKey, deleteKeysOf, forgetKey } from "../../src/requests/idempotency.ts";
import { removeRequests } from "../../src/requests/removal.ts";
import { WORKLOAD } from "../../src/requests/queue-depth.ts";
import { RequestStore } from "../../src/requests/store.ts";
import { loadRequestSeal, sealExisting } from "../../src/requests/seal.ts";
import { definitionPolicy } from "../../src/reports/data-defined/document.ts";
import { loadConfig } from "../../src/config.ts";
import { DefinitionVersions } from "../../src/reports/data-defined/versions.ts";
import { readDefinitions, seedDefinitions } from "../../src/reports/data-defined/store.ts";
import { ChunkWriter, deleteChunks, readPage } from "../../src/results/chunks.ts";
import { ScheduleStore } from "../../src/schedules/store.ts";
import { WebhookOutbox } from "../../src/webhooks/outbox.ts";
import { DistributedLock } from "../../src/worker/lock.ts";
import type { IndexShape, QueryShape } from "./index-coverage.ts";

export interface QueryRow {
  /** The README table (its `##` heading) and the row's first column, as written. */
  table: string;
  label: string;
  /** Index names the row's last column gives (declared ones, or `_id`). */
  indexes: string[];
  /** The row says the query needs no index ("none needed") or only inserts. */
  unindexed: boolean;
  inserts: boolean;
}

const README = new URL("../../../src/requests/README.md", import.meta.url);

/** Every declared index by name, with `_id` as `_id_`, per collection. */
export function declaredIndexes(collection: string): IndexShape[] {
  return [{ name: "_id_", key: { _id: 1 } }, ...(SERVICE_INDEXES[collection] ?? [])];
}

const ALL_INDEX_NAMES = new Set(Object.values(SERVICE_INDEXES).flatMap((indexes) => indexes.map((index) => index.name)));

/** The rows of the README's tables. */
export function queryRows(text = readFileSync(README, "utf8")): QueryRow[] {
  const rows: QueryRow[] = [];
  let table = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) table = line.slice(3).trim();
    if (!line.startsWith("| ") || line.startsWith("| ---") || /^\| (Query|Collection)/.test(line)) continue;
    const cells = line
      .slice(2, -2)
      .split(" | ")
      .map((cell) => cell.trim());
    const indexCell = cells[cells.length - 1];
    const names = [...indexCell.matchAll(/`([a-z_]+)(?: \{[^`]*\})?`/g)].map((m) => m[1]);
    const indexes = names.filter((name) => ALL_INDEX_NAMES.has(name)).concat(names.includes("_id") ? ["_id_"] : []);
    rows.push({
      table,
      label: cells[0],
      indexes,
      unindexed: indexCell.startsWith("none needed"),
      inserts: cells.length === 3 && cells[1] === "insert",
    });
  }
  return rows;
}

/** One query as the driver sent it. */
export interface CapturedQuery {
  collection: string;
  command: string;
  shape: QueryShape;
  /** The command as sent, for explain. */
  raw: Document;
}

/** Collects the queries a client sends (finds, findAndModify, updates, deletes, counts) while `run` runs. */
export async function captureQueries(client: MongoClient, run: () => Promise<unknown>): Promise<CapturedQuery[]> {
  const captured: CapturedQuery[] = [];
  const listener = (event: CommandStartedEvent) => captured.push(...queriesOf(event.commandName, event.command));
  client.on("commandStarted", listener);
  try {
    await run();
  } finally {
    client.off("commandStarted", listener);
  }
  return captured;
}

/** A sort as sent (the driver sends a Map) as a plain object, keys in order. */
function plainSort(sort: unknown): Record<string, 1 | -1> | undefined {
  if (sort === undefined || sort === null) return undefined;
  const entries = sort instanceof Map ? [...sort.entries()] : Object.entries(sort);
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as Record<string, 1 | -1>);
}

function queriesOf(name: string, command: Document): CapturedQuery[] {
  const collection = String(command[name]);
  const one = (shape: QueryShape): CapturedQuery => ({ collection, command: name, shape, raw: command });
  switch (name) {
    case "find":
      return [
        one({
          filter: command.filter ?? {},
          sort: plainSort(command.sort),
          hint: typeof command.hint === "string" ? command.hint : undefined,
        }),
      ];
    case "findAndModify":
      return [one({ filter: command.query ?? {}, sort: plainSort(command.sort) })];
    case "update":
      return (command.updates as Document[]).map((u) => one({ filter: u.q ?? {} }));
    case "delete":
      return (command.deletes as Document[]).map((d) => one({ filter: d.q ?? {} }));
    case "aggregate": {
      const match = (command.pipeline as Document[])[0]?.$match;
      return match ? [one({ filter: match, hint: typeof command.hint === "string" ? command.hint : undefined })] : [];
    }
    default:
      return [];
  }
}

/** What the exercises run against: a database, and stores over a client whose commands are captured. */
export interface ExerciseContext {
  database: Database;
  store: RequestStore;
}

const POLICY = definitionPolicy(loadConfig({}));
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const pendingDoc = (extra: Document = {}) => ({
  _id: new ObjectId(),
  report_name: "r",
  params: {},
  status: "pending",
  report_date: at(1),
  not_before: at(1),
  attempts: 0,
  lease: null,
  ...extra,
});
const result = { row_count: 0, columns: [], attempt: 1, rows_per_chunk: 1 };

async function claimed(ctx: ExerciseContext) {
  await ctx.database.requests.insertOne(pendingDoc() as any);
  const doc = (await ctx.store.claimPending("me", 60_000, at(10)))!;
  return { id: doc._id, owner: "me", attempt: doc.attempts };
}

const definition = (name: string) => ({
  name,
  description: "a report for the query table",
  collection: "movies",
  parameters: { type: "object", properties: {} },
  pipeline: [{ $project: { _id: 0, title: 1 } }],
  columns: [{ name: "title" }],
});

/**
 * For each README row (by its first column), the code that makes its queries, with the fields a
 * query checks on the fetched documents that the row allows (`residual`).
 */
export interface Exercise {
  /** Prepares what `run` needs; its queries are not the row's (not captured). */
  setup?: (ctx: ExerciseContext) => Promise<unknown>;
  run: (ctx: ExerciseContext, prepared: any) => Promise<unknown>;
  residual?: string[];
}

export const EXERCISES: Record<string, Exercise> = {
  "Claim an expired lease (`store.claimExpired`)": { run: (ctx) => ctx.store.claimExpired("me", 1_000, at(100)) },
  "Claim a pending request (`store.claimPending`)": { run: (ctx) => ctx.store.claimPending("me", 1_000, at(100)) },
  "Renew, complete, fail, retry, release (`store.renew` … `store.release`)": {
    setup: async (ctx) => [await claimed(ctx), await claimed(ctx)],
    run: async (ctx, [claim, again]) => {
      await ctx.store.renew(claim, 60_000, at(11));
      await ctx.store.fillDefaults(claim, { output: "json" });
      await ctx.store.retryLater(claim, { code: "execution", message: "x" }, at(12));
      await ctx.store.release(again);
      await ctx.store.complete(again, result);
      await ctx.store.fail(again, { code: "execution", message: "x" });
    },
    residual: ["status", "lease.owner", "attempts"],
  },
  "Read a request (`store.get`, `wait=`)": {
    run: async (ctx) => {
      await ctx.store.get(new ObjectId());
      await ctx.store.get(new ObjectId(), { owner: "alice" });
    },
    residual: ["owner"],
  },
  "Submit (`store.submit`)": { run: (ctx) => ctx.store.submit({ report_name: "r", params: {}, output: "json" }) },
  "Cancel (`store.cancel`)": { run: (ctx) => ctx.store.cancel(new ObjectId(), { owner: "alice" }), residual: ["status", "owner"] },
  "History, unfiltered (`store.history`)": {
    run: async (ctx) => {
      await ctx.store.history({ limit: 10 });
      await ctx.store.history({ limit: 10, after: new ObjectId() });
    },
  },
  "History by report (`store.history`)": { run: (ctx) => ctx.store.history({ limit: 10, report_name: "r", after: new ObjectId() }) },
  "History by status (`store.history`)": { run: (ctx) => ctx.store.history({ limit: 10, status: "error", after: new ObjectId() }) },
  "History by report and status (`store.history`)": {
    run: (ctx) => ctx.store.history({ limit: 10, report_name: "r", status: "completed" }),
  },
  "History of an API key's owner (`store.history`, access control on)": {
    run: (ctx) => ctx.store.history({ limit: 10, after: new ObjectId() }, { owner: "alice" }),
  },
  "History of an owner, by status (`store.history`)": {
    run: (ctx) => ctx.store.history({ limit: 10, status: "pending" }, { owner: "alice" }),
  },
  "Queued requests of an owner, for `MAX_QUEUED_PER_OWNER` (`store.countQueued`)": {
    run: (ctx) => ctx.store.countQueued("alice"),
  },
  "History of an owner, by report (`store.history`)": {
    run: (ctx) => ctx.store.history({ limit: 10, report_name: "r" }, { owner: "alice" }),
  },
  "History of an owner, by report and status (`store.history`)": {
    run: (ctx) => ctx.store.history({ limit: 10, report_name: "r", status: "error" }, { owner: "alice" }),
  },
  "A schedule tick's request, fired by another process (`store.idOfTick`)": {
    run: (ctx) => ctx.store.idOfTick("x@2026-01-01T00:00:00.000Z"),
  },
  "Statuses of a schedule's runs (`store.statuses`)": { run: (ctx) => ctx.store.statuses([new ObjectId(), new ObjectId()]) },
  "Reuse a recent result (`store.findReusable`)": {
    run: async (ctx) => {
      await ctx.store.findReusable({ report_name: "r", params: {}, output: "json" }, at(0));
      await ctx.store.findReusable({ report_name: "r", params: {}, output: "json", owner: "alice" }, at(0));
    },
    residual: ["owner"],
  },
  "Retention: expired requests (`store.expired`)": { run: (ctx) => ctx.store.expired(at(100), 10), residual: ["callback.state"] },
  "Remove requests (`removeRequests`: `DELETE /v1/reports/:id` and retention)": {
    run: (ctx) => removeRequests({ database: ctx.database, store: ctx.store }, [pendingDoc(), pendingDoc()]),
  },
  "Queue depth for metrics and autoscaling (`metrics.ts`, cached; KEDA's trigger in the Helm chart)": {
    run: async (ctx) => {
      const metrics = new Metrics({ knownReport: () => true, defaultMetrics: false });
      metrics.watchQueueDepth(ctx.database.requests, 0);
      await metrics.render();
      // KEDA's WORKLOAD is an $or: the server plans each branch on its own index.
      for (const branch of WORKLOAD.$or) await ctx.database.requests.countDocuments(branch);
    },
  },
  "Webhook outbox: claim a due delivery (`outbox.claim`)": { run: (ctx) => new WebhookOutbox(ctx.database.requests).claim("me", 1_000) },
  "Webhook outbox: record the outcome (`outbox.record`)": {
    run: (ctx) =>
      new WebhookOutbox(ctx.database.requests).record(
        { id: new ObjectId(), owner: "me", attempt: 1 },
        {
          state: "delivered",
          status: 200,
        },
      ),
    residual: ["callback.owner", "callback.attempts"],
  },
  "Write a chunk (`ChunkWriter`)": {
    run: async (ctx) => {
      const writer = new ChunkWriter(ctx.database.results, { requestId: new ObjectId(), attempt: 1, rowsPerChunk: 2 });
      for (let i = 0; i < 3; i++) await writer.add({ i });
      await writer.finish();
    },
  },
  "Read a page (`readPage`)": {
    setup: async (ctx) => {
      const requestId = new ObjectId();
      const writer = new ChunkWriter(ctx.database.results, { requestId, attempt: 1, rowsPerChunk: 2 });
      for (let i = 0; i < 5; i++) await writer.add({ i });
      await writer.finish();
      return requestId;
    },
    run: (ctx, requestId) => readPage(ctx.database.results, { requestId, attempt: 1, rowsPerChunk: 2 }, 1, 3),
  },
  "Clear earlier attempts / all rows (`deleteChunks`, retention)": {
    run: async (ctx) => {
      await deleteChunks(ctx.database.results, new ObjectId(), 2);
      await deleteChunks(ctx.database.results, new ObjectId());
      await ctx.database.results.deleteMany({ request_id: { $in: [new ObjectId()] } });
    },
  },
  "`report_idempotency_keys`: record, look up, forget a key": {
    run: async (ctx) => {
      await recordKey(ctx.database.idempotency, "k", "f", new ObjectId());
      await recordKey(ctx.database.idempotency, "k", "f", new ObjectId());
      await forgetKey(ctx.database.idempotency, "k");
    },
  },
  "`report_idempotency_keys`: remove the keys of purged requests": {
    run: (ctx) => deleteKeysOf(ctx.database.idempotency, [new ObjectId()]),
  },
  "`report_definitions`: save or seed by name": {
    run: async (ctx) => {
      const definitions = ctx.database.db.collection(COLLECTIONS.definitions);
      await seedDefinitions(definitions, [definition("seeded")], POLICY);
      await new DefinitionVersions(definitions, ctx.database.db.collection(COLLECTIONS.definitionVersions) as any, POLICY).save(
        definition("versioned"),
        "api",
      );
    },
    residual: ["$or"],
  },
  "`report_keys`: the request seal's key, read (or made) once per process (`requests/seal.ts`)": {
    run: (ctx) => loadRequestSeal(ctx.database.db.collection(COLLECTIONS.keys) as any),
  },
  "`report_requests`: seal the requests written before requests were sealed (`sealExisting`)": {
    setup: (ctx) => ctx.database.requests.insertOne(pendingDoc() as any),
    run: (ctx) => sealExisting(ctx.database.requests, ctx.store.seal),
  },
  "`report_definitions`: load all (catalogue reload)": {
    run: (ctx) => readDefinitions(ctx.database.db.collection(COLLECTIONS.definitions)),
  },
  "`report_locks`: look at, take, renew, release a lock: retention, index builds, schedule firing (`worker/lock.ts`)": {
    run: async (ctx) => {
      const lock = new DistributedLock(ctx.database.db.collection(COLLECTIONS.locks) as any, "x", "me", 1_000);
      await lock.heldByAnother();
      await lock.acquire();
      await lock.renew();
      await lock.release();
    },
    residual: ["$or", "owner"],
  },
  "`report_definition_versions`: a report's versions, the latest (`versions.list`, `versions.latestVersion`)": {
    run: async (ctx) => {
      const versions = new DefinitionVersions(
        ctx.database.db.collection(COLLECTIONS.definitions),
        ctx.database.db.collection(COLLECTIONS.definitionVersions) as any,
        POLICY,
      );
      await versions.list("r");
      await versions.latestVersion("r");
      await versions.get("r", 1);
    },
  },
  '`report_schedules`: due schedules (`status: "active", next_run_at ≤ now` · `next_run_at`), the next tick (`next_run_at ≠ null` · `next_run_at`, limit 1)':
    {
      run: async (ctx) => {
        const schedules = new ScheduleStore(ctx.database.schedules);
        await schedules.due(at(100), 10);
        await schedules.earliestDue();
      },
    },
  "`report_schedules`: one owner's schedules, paged by `_id`": {
    run: (ctx) => new ScheduleStore(ctx.database.schedules).list({ owner: "alice" }, 0, 10),
  },
  "`report_schedules`: read, edit, pause, advance one schedule": {
    run: async (ctx) => {
      const schedules = new ScheduleStore(ctx.database.schedules);
      const id = new ObjectId();
      await schedules.get(id, { owner: "alice" });
      await schedules.update(id, {}, { cron: "0 * * * *" });
      await schedules.pause(id, {}, { reason: "x", at: at(1) } as any);
      await schedules.advance({ _id: id } as any, at(1), at(2), { request_id: new ObjectId(), scheduled_for: at(1) } as any);
    },
    residual: ["owner", "status", "next_run_at"],
  },
  "`api_rate_limits`: one counter per key (rate-limiter-flexible)": {
    run: async (ctx) => {
      const { RateLimiterMongo } = await import("rate-limiter-flexible");
      const limiter = new RateLimiterMongo({
        storeClient: ctx.database.client,
        dbName: ctx.database.db.databaseName,
        tableName: COLLECTIONS.rateLimits,
        points: 10,
        duration: 60,
        disableIndexesCreation: true,
      });
      await limiter.consume("k");
    },
    residual: ["$or"],
  },
};
