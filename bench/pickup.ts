/**
 * a) Pickup latency: request inserted → claimed and started by a worker, p50/p95, for
 *   - ours with change streams (SWEEP_MS large, so only change events wake the worker),
 *   - ours with the sweep alone (no change stream; SWEEP_MS = 5000, our default),
 *   - Agenda 6 with MongoChangeStreamNotificationChannel,
 *   - Agenda 6 with default polling (processEvery 5 s, its default).
 * One worker process per system, CONCURRENCY jobs at once (same for all). Requests arrive open
 * loop at random gaps (uniform 50–250 ms) for WINDOW_MS, so arrivals fall at random points of a
 * polling cycle. Latency = the worker's `job.started` log time (claimed, handler starting) − the
 * time taken just before the insert (same machine clock); also reported: insert → claim issued. Each round runs every system on its own fresh server (the test
 * server's oplog never shrinks), in rotated order; the reported numbers are medians over ROUNDS.
 *
 * With TEST_MONGODB_URI set (a real replica set), every measurement runs there instead, each on a
 * database of its own (dropped afterwards), and the results go to pickup-replica-set.json: on
 * MongoDB a change event is delivered only once the majority commit point passes the insert (the
 * product inserts with w: "majority"), which the embedded server, delivering at once, hides.
 * `npm run bench:pickup`
 */
import process from "node:process";
import { MongoClient } from "mongodb";
import { Agenda } from "agenda";
import { MongoBackend } from "@agendajs/mongo-backend";
import { connect } from "../src/db.ts";
import { ensureIndexes } from "../src/indexes.ts";
import { RequestStore } from "../src/requests/store.ts";
import { requestSealOf } from "../src/requests/seal.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { startWorker, sleep, summarise, until, type WorkerKind } from "./harness.ts";
import { median, percentile, writeResults } from "./lib.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
// A whole number of 5 s polling periods, so arrivals cover every phase of a polling cycle equally.
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 5000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const GAP_MIN_MS = 50;
const GAP_MAX_MS = 250;

interface System {
  name: string;
  kind: WorkerKind;
  pollMs?: number;
  description: string;
}

const SYSTEMS: System[] = [
  { name: "ours-changestream", kind: "ours", pollMs: 600_000, description: "ours, change stream wakes the worker (SWEEP_MS=600000)" },
  {
    name: "ours-sweep-only",
    kind: "ours-sweep-only",
    pollMs: 5000,
    description: "ours, no change stream, sweep every 5000 ms (our default SWEEP_MS)",
  },
  {
    name: "agenda-changestream",
    kind: "agenda-changestream",
    description: "Agenda 6 + MongoChangeStreamNotificationChannel (processEvery default 5 s)",
  },
  { name: "agenda-polling", kind: "agenda-polling", description: "Agenda 6, default polling (processEvery 5 s)" },
];

interface Producer {
  insert(i: number): Promise<string>;
  /** Ours only: request id → started_at (the claim's own timestamp, taken just before its findOneAndUpdate). */
  claimTimes?(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

async function producerFor(system: System, uri: string, dbName: string): Promise<Producer> {
  if (system.kind.startsWith("ours")) {
    const database = await connect(uri, dbName, "bench-producer");
    await ensureIndexes(database);
    const store = new RequestStore(database.requests, await requestSealOf(database.db));
    return {
      insert: async (i) => String((await store.submit({ report_name: "bench-noop", params: { i }, output: "json" }))._id),
      claimTimes: async () =>
        new Map(
          (await database.requests.find({}, { projection: { started_at: 1 } }).toArray())
            .filter((d) => d.started_at instanceof Date)
            .map((d) => [String(d._id), d.started_at!.getTime()]),
        ),
      close: () => database.close(),
    };
  }
  const client = await MongoClient.connect(uri, { appName: "bench-producer" });
  const agenda = new Agenda({ backend: new MongoBackend({ mongo: client.db(dbName) }) });
  await agenda.ready;
  return {
    insert: async (i) => String((await agenda.now("bench-noop", { i })).attrs._id),
    close: () => client.close(),
  };
}

/**
 * Second measure, "insert → claim issued": the claim's own timestamp (ours: started_at; Agenda:
 * lockedAt, both taken just before the locking findOneAndUpdate) − insert time. It leaves out what
 * each system does between claiming and starting the handler (Agenda saves the job once more).
 */
const EXTERNAL_URI = process.env.TEST_MONGODB_URI;

/** A fresh server (embedded), or a fresh database on TEST_MONGODB_URI. */
async function freshServer(dbName: string): Promise<{ uri: string; stop(): Promise<void> }> {
  if (!EXTERNAL_URI) return startEmbeddedMongo();
  return {
    uri: EXTERNAL_URI,
    stop: async () => {
      const client = await MongoClient.connect(EXTERNAL_URI);
      await client.db(dbName).dropDatabase();
      await client.close();
    },
  };
}

async function measure(system: System): Promise<{ started: number[]; claimed: number[] }> {
  const dbName = `pickup_${system.name.replace(/-/g, "_")}${EXTERNAL_URI ? `_${process.pid}_${Date.now()}` : ""}`;
  const server = await freshServer(dbName);
  const started = new Map<string, number>();
  let claimed = new Map<string, number>();
  const worker = startWorker(system.kind, { mongoUri: server.uri, dbName, concurrency: CONCURRENCY, pollMs: system.pollMs }, (line) => {
    if (line.event === "job.started" && line.request_id && line.time) started.set(line.request_id, Date.parse(line.time));
    if (line.event === "job.started" && line.request_id && typeof line.claimed_at === "string")
      claimed.set(line.request_id, Date.parse(line.claimed_at));
  });
  const producer = await producerFor(system, server.uri, dbName);
  try {
    await worker.ready;
    await sleep(500); // let the first sweep/poll pass
    const inserted = new Map<string, number>();
    const end = Date.now() + WINDOW_MS;
    const pending: Promise<void>[] = [];
    for (let i = 0; Date.now() < end; i++) {
      const t = Date.now();
      pending.push(producer.insert(i).then((id) => void inserted.set(id, t)));
      await sleep(GAP_MIN_MS + Math.random() * (GAP_MAX_MS - GAP_MIN_MS));
    }
    await Promise.all(pending);
    await until(() => [...inserted.keys()].every((id) => started.has(id)), 30_000, `${system.name}: all jobs started`, 20);
    if (producer.claimTimes) claimed = await producer.claimTimes();
    return {
      started: [...inserted].map(([id, t]) => started.get(id)! - t),
      claimed: [...inserted].filter(([id]) => claimed.has(id)).map(([id, t]) => claimed.get(id)! - t),
    };
  } finally {
    await worker.stop();
    await producer.close();
    await server.stop();
  }
}

type RoundSummary = { p50: number; p95: number; n: number; claim_p50: number; claim_p95: number };
const perRound: Record<string, RoundSummary[]> = Object.fromEntries(SYSTEMS.map((s) => [s.name, []]));
const all: Record<string, number[]> = Object.fromEntries(SYSTEMS.map((s) => [s.name, []]));
const allClaimed: Record<string, number[]> = Object.fromEntries(SYSTEMS.map((s) => [s.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = SYSTEMS.map((_, i) => SYSTEMS[(i + round) % SYSTEMS.length]);
  for (const system of order) {
    const { started: latencies, claimed } = await measure(system);
    all[system.name].push(...latencies);
    allClaimed[system.name].push(...claimed);
    const summary = {
      n: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      claim_p50: percentile(claimed, 50),
      claim_p95: percentile(claimed, 95),
    };
    perRound[system.name].push(summary);
    console.log(JSON.stringify({ event: "bench.pickup.round", round, system: system.name, ...summary }));
  }
}

const systems = Object.fromEntries(
  SYSTEMS.map((s) => [
    s.name,
    {
      description: s.description,
      p50_ms: median(perRound[s.name].map((r) => r.p50)),
      p95_ms: median(perRound[s.name].map((r) => r.p95)),
      insert_to_claim_issued: {
        p50_ms: median(perRound[s.name].map((r) => r.claim_p50)),
        p95_ms: median(perRound[s.name].map((r) => r.claim_p95)),
        pooled: summarise(allClaimed[s.name], percentile),
      },
      per_round: perRound[s.name].map((r) => ({ n: r.n, p50: Math.round(r.p50 * 10) / 10, p95: Math.round(r.p95 * 10) / 10 })),
      pooled: summarise(all[s.name], percentile),
    },
  ]),
);
const ours = systems["ours-changestream"];
const ratios = {
  agenda_polling_p50_over_ours_p50: systems["agenda-polling"].p50_ms / ours.p50_ms,
  agenda_changestream_p50_over_ours_p50: systems["agenda-changestream"].p50_ms / ours.p50_ms,
  ours_sweep_only_p50_over_ours_p50: systems["ours-sweep-only"].p50_ms / ours.p50_ms,
  claim_issued_agenda_changestream_p50_over_ours_p50:
    systems["agenda-changestream"].insert_to_claim_issued.p50_ms / ours.insert_to_claim_issued.p50_ms,
};
const targets = {
  "p50 <= 10 ms": { value_ms: ours.p50_ms, met: ours.p50_ms <= 10 },
  ">= 10x faster than Agenda polling (p50)": {
    ratio: ratios.agenda_polling_p50_over_ours_p50,
    met: ratios.agenda_polling_p50_over_ours_p50 >= 10,
  },
  "no slower than Agenda change-stream channel (p50)": {
    ratio: ratios.agenda_changestream_p50_over_ours_p50,
    met: ratios.agenda_changestream_p50_over_ours_p50 >= 1,
  },
};
const file = writeResults(EXTERNAL_URI ? "pickup-replica-set" : "pickup", {
  method:
    `one worker process per system (concurrency ${CONCURRENCY}), requests inserted open loop at uniform ${GAP_MIN_MS}-${GAP_MAX_MS} ms gaps for ${WINDOW_MS} ms; ` +
    "latency = worker's job.started log time (claimed, handler starting) - time just before the insert; insert_to_claim_issued = the claim's own timestamp (ours started_at, Agenda lockedAt, each taken just before the locking findOneAndUpdate) - insert time; " +
    "p50/p95 per round, then the median over rounds; every system on a fresh server each round, order rotated",
  rounds: ROUNDS,
  systems,
  ratios,
  targets,
});
console.log(
  JSON.stringify({
    event: "bench.done",
    file,
    systems: Object.fromEntries(Object.entries(systems).map(([k, v]) => [k, { p50_ms: v.p50_ms, p95_ms: v.p95_ms }])),
    ratios,
  }),
);
process.exit(0);
