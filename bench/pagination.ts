/**
 * d) Pagination: reading page 0 vs page 10,000 (page_size 10, the API default: rows
 * 100,000–100,009) of a 1,000,000-row result, and the last page (99,999) for reference. The rows
 * are written directly with ChunkWriter (ROWS_PER_CHUNK = 1000, the default) under a request that
 * goes through the store's own submit → claim → complete, so the API serves it like any result.
 * Measured two ways, interleaved: through the API (GET /v1/reports/:id?page=N, client-side) and
 * readPage() with the driver. ROUNDS rounds of READS reads per page; ratio = median over rounds of
 * the per-round medians.
 * `npm run bench:pagination`
 */
import process from "node:process";
import { loadConfig } from "../src/config.ts";
import { openContext } from "../src/context.ts";
import { silentLogger } from "../src/log.ts";
import { startService } from "../src/main/service.ts";
import { ChunkWriter, readPage } from "../src/results/chunks.ts";
import { startEmbeddedMongo } from "../scripts/lib/embedded-mongo.ts";
import { median, writeResults } from "./lib.ts";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const READS = Number(process.env.READS ?? 100);
const PAGE_SIZE = 10;
const PAGES = [0, 10_000, Math.ceil(ROWS / PAGE_SIZE) - 1];

const embedded = await startEmbeddedMongo();
const config = loadConfig({ ...process.env, MONGODB_URI: embedded.uri, MONGODB_DB: "bench_pagination", CATALOGUE_RELOAD_MS: "0" });
const context = await openContext({ component: "bench", config, log: silentLogger });
const service = await startService(context, { port: 0, host: "127.0.0.1", worker: false });
const { store, database } = context;

// A request that went through the store like any other, with 1M rows written by ChunkWriter.
const writeStarted = performance.now();
const submitted = await store.submit({ report_name: "top-movies-per-rating", params: {}, output: "json" });
const claimed = (await store.claimPending("bench-pagination", 3_600_000))!;
if (String(claimed._id) !== String(submitted._id)) throw new Error("claimed another request than the one submitted");
const claim = { id: claimed._id, owner: "bench-pagination", attempt: claimed.attempts };
const location = { requestId: claimed._id, attempt: claimed.attempts, rowsPerChunk: config.rowsPerChunk };
const writer = new ChunkWriter(database.results, location);
const columns = ["movie_id", "title", "year", "rating", "votes"];
for (let i = 0; i < ROWS; i++) {
  await writer.add({
    movie_id: i,
    title: `Movie number ${i}`,
    year: 1900 + (i % 120),
    rating: (i % 100) / 10,
    votes: (i * 7919) % 100_000,
  });
}
await writer.finish();
if (!(await store.complete(claim, { row_count: writer.rowCount, columns, attempt: claim.attempt, rows_per_chunk: config.rowsPerChunk }))) {
  throw new Error("could not complete the request");
}
const writeMs = performance.now() - writeStarted;
console.log(
  JSON.stringify({ event: "bench.pagination.written", rows: ROWS, chunks: Math.ceil(ROWS / config.rowsPerChunk), ms: Math.round(writeMs) }),
);

async function viaApi(page: number): Promise<number> {
  const started = performance.now();
  const body = (await fetch(`${service.url}/v1/reports/${claimed._id}?page=${page}&page_size=${PAGE_SIZE}`).then((r) => r.json())) as {
    rows?: { movie_id: number }[];
  };
  const ms = performance.now() - started;
  if (body.rows?.length !== PAGE_SIZE || body.rows[0].movie_id !== page * PAGE_SIZE)
    throw new Error(`page ${page}: wrong rows ${JSON.stringify(body).slice(0, 300)}`);
  return ms;
}

async function viaDriver(page: number): Promise<number> {
  const started = performance.now();
  const rows = await readPage(database.results, location, page, PAGE_SIZE);
  const ms = performance.now() - started;
  if (rows.length !== PAGE_SIZE || rows[0].movie_id !== page * PAGE_SIZE) throw new Error(`page ${page}: wrong rows`);
  return ms;
}

// Warm-up: JIT on both sides, connection pool.
for (let i = 0; i < 20; i++)
  for (const page of PAGES) {
    await viaApi(page);
    await viaDriver(page);
  }

const perRound: Record<string, Record<number, number[]>> = { api: {}, driver: {} };
for (const way of ["api", "driver"]) for (const page of PAGES) perRound[way][page] = [];
for (let round = 0; round < ROUNDS; round++) {
  const samples: Record<string, Record<number, number[]>> = { api: {}, driver: {} };
  for (const way of ["api", "driver"]) for (const page of PAGES) samples[way][page] = [];
  for (let i = 0; i < READS; i++) {
    // Interleave pages, rotating which goes first, so drift hits them alike.
    const order = PAGES.map((_, k) => PAGES[(k + i) % PAGES.length]);
    for (const page of order) {
      samples.api[page].push(await viaApi(page));
      samples.driver[page].push(await viaDriver(page));
    }
  }
  for (const way of ["api", "driver"]) for (const page of PAGES) perRound[way][page].push(median(samples[way][page]));
  console.log(
    JSON.stringify({
      event: "bench.pagination.round",
      round,
      api: PAGES.map((p) => median(samples.api[p])),
      driver: PAGES.map((p) => median(samples.driver[p])),
    }),
  );
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const summary = (way: string) => {
  const byPage = Object.fromEntries(PAGES.map((p) => [`page_${p}_ms`, round3(median(perRound[way][p]))]));
  const ratio = median(perRound[way][10_000]) / median(perRound[way][0]);
  const lastRatio = median(perRound[way][PAGES[2]]) / median(perRound[way][0]);
  return {
    ...byPage,
    per_round_medians_ms: Object.fromEntries(PAGES.map((p) => [p, perRound[way][p].map(round3)])),
    ratio_page_10000_over_page_0: round3(ratio),
    ratio_last_page_over_page_0: round3(lastRatio),
    target_ratio_le_1_5_met: ratio <= 1.5,
  };
};
const file = writeResults("pagination", {
  method:
    `${ROWS} rows in chunks of ${config.rowsPerChunk} (ChunkWriter) under a completed request; page_size ${PAGE_SIZE}; pages ${PAGES.join(", ")}; ` +
    `${ROUNDS} rounds × ${READS} reads per page, pages interleaved; per-round medians, then the median over rounds; api = GET /v1/reports/:id?page= (client-side), driver = readPage()`,
  rows: ROWS,
  write_ms: Math.round(writeMs),
  api: summary("api"),
  driver: summary("driver"),
});
console.log(
  JSON.stringify({
    event: "bench.done",
    file,
    api: summary("api").ratio_page_10000_over_page_0,
    driver: summary("driver").ratio_page_10000_over_page_0,
  }),
);
await service.close();
await context.close();
await embedded.stop();
process.exit(0);
