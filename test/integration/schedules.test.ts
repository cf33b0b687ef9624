/**
 * Recurring reports: the /v1/schedules API, and workers firing schedules. Two real worker
 * processes fire one schedule every 2 s, one of them SIGKILLed halfway: every tick gives exactly
 * one request. Missed ticks collapse into one firing; a schedule whose report vanished or stopped
 * validating pauses itself.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ObjectId } from "mongodb";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { COLLECTIONS } from "../../src/db.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { ScheduleFirer, SCHEDULE_LOCK_MS } from "../../src/schedules/firer.ts";
import { DistributedLock, type LockDocument } from "../../src/worker/lock.ts";
import { tickKey } from "../../src/schedules/tick-key.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { loadMflix } from "../support/mflix.ts";
import { eventually, get, post, request } from "../support/http.ts";
import { spawnWorker, stopWorker, type WorkerProcess } from "../support/processes.ts";

const test = suite("schedules");
let mongo: TestMongo;
let service: TestService;
const started: WorkerProcess[] = [];

test.before(async () => {
  mongo = await startTestMongo("schedules");
  // No in-process worker: schedules here are fired by worker processes, or by a firer a test drives.
  // Seconds schedules keep these tests short: a deployment may allow them (SCHEDULE_MIN_INTERVAL_S=1).
  service = await startTestService(mongo, {
    worker: false,
    config: { catalogueReloadMs: 0, scheduleMinIntervalS: 1, schedulesPerOwner: 0 },
  });
  await loadMflix(service.context.database.db, ["movies"]);
});

test.after.each(async () => {
  await Promise.all(started.splice(0).map((w) => stopWorker(w, "SIGKILL")));
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

function firerDeps() {
  const { context } = service;
  return {
    schedules: context.schedules,
    requests: context.store,
    catalogue: context.catalogue,
    refreshCatalogue: () => context.catalogueLoader.refresh(),
    pollMs: 1000,
    log: silentLogger,
  };
}

function firer(): ScheduleFirer {
  return new ScheduleFirer(firerDeps());
}

const weekly = { cron: "0 8 * * 1", timezone: "Europe/Paris", report: { report_name: "top-movies-per-rating", top: 5 }, output: "csv" };

test("POST /v1/schedules: 201 with the schedule, its next five run times and links", async () => {
  const created = await post(`${service.url}/v1/schedules`, weekly);
  assert.is(created.status, 201, JSON.stringify(created.body));
  const schedule = created.body;
  assert.is(created.headers.get("location"), `/v1/schedules/${schedule.id}`);
  assert.is(schedule.status, "active");
  assert.equal(schedule.report, { report_name: "top-movies-per-rating", top: 5 });
  assert.is(schedule.output, "csv");
  assert.is(schedule.next_runs.length, 5);
  for (const run of schedule.next_runs) {
    const local = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", weekday: "short", hour: "2-digit", minute: "2-digit" });
    assert.is(local.format(new Date(run)), "Mon 08:00");
  }
  assert.is(schedule.next_run_at, schedule.next_runs[0]);
  assert.equal(schedule.runs, []);
  assert.equal(schedule.links, {
    self: `/v1/schedules/${schedule.id}`,
    pause: `/v1/schedules/${schedule.id}/pause`,
    resume: `/v1/schedules/${schedule.id}/resume`,
  });
  const read = await get(`${service.url}/v1/schedules/${schedule.id}`);
  assert.is(read.status, 200);
  assert.equal(read.body.next_runs, schedule.next_runs);
});

test("the report body is validated exactly as a submit validates it; bad cron, timezone and fields are refused", async () => {
  const badFilter = { ...weekly, report: { report_name: "top-movies-per-rating", rating: { $where: "1" } } };
  const submit = await post(`${service.url}/v1/reports`, badFilter.report);
  const schedule = await post(`${service.url}/v1/schedules`, badFilter);
  assert.is(submit.status, 400);
  assert.is(schedule.status, 400);
  assert.equal(
    schedule.body.errors,
    submit.body.errors.map((e: { field: string; message: string }) => ({ ...e, field: `report.${e.field}` })),
  );
  const unknown = await post(`${service.url}/v1/schedules`, { ...weekly, report: { report_name: "no-such-report" } });
  assert.is(unknown.status, 404);
  assert.is(unknown.body.type, "https://mongo-reports.dev/problems/unknown-report");
  assert.ok(unknown.body.available.includes("top-movies-per-rating"));
  // 400: the body does not match its declared schema; 422: it does, but is not a schedule that can run.
  const cases: [Record<string, unknown>, string, number][] = [
    [{ ...weekly, cron: "61 * * * *" }, "cron", 422],
    [{ ...weekly, cron: "* * *" }, "cron", 422],
    [{ ...weekly, timezone: "Europe/Atlantis" }, "timezone", 422],
    [{ ...weekly, output: "pdf" }, "output", 400],
    [{ ...weekly, callback_url: "ftp://example.com/x" }, "callback_url", 400],
    [{ ...weekly, every: "monday" }, "every", 400],
    [{ cron: weekly.cron }, "report", 400],
  ];
  for (const [body, field, status] of cases) {
    const answer = await post(`${service.url}/v1/schedules`, body);
    assert.is(answer.status, status, `${JSON.stringify(body)} → ${answer.status}`);
    assert.is(answer.headers.get("content-type"), "application/problem+json");
    assert.ok(
      answer.body.errors.some((e: { field: string }) => e.field === field),
      `${field} not named in ${JSON.stringify(answer.body.errors)}`,
    );
  }
  assert.is((await get(`${service.url}/v1/schedules/not-an-id`)).status, 400);
  assert.is((await get(`${service.url}/v1/schedules/${new ObjectId()}`)).status, 404);
});

test("list (paged), PATCH, pause, resume, DELETE", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++)
    ids.push((await post(`${service.url}/v1/schedules`, { ...weekly, report: { ...weekly.report, top: i + 1 } })).body.id);
  const all = await get(`${service.url}/v1/schedules?page_size=100`);
  assert.ok(ids.every((id) => all.body.schedules.some((s: { id: string }) => s.id === id)));
  const page = await get(`${service.url}/v1/schedules?page=1&page_size=2`);
  assert.is(page.status, 200);
  assert.is(page.body.page_size, 2);
  assert.is(page.body.total, all.body.total);
  assert.is(page.body.schedules.length, Math.min(2, all.body.total - 2));

  const id = ids[0];
  const patched = await request(`${service.url}/v1/schedules/${id}`, { method: "PATCH", json: { cron: "30 6 * * *", timezone: "UTC" } });
  assert.is(patched.status, 200, JSON.stringify(patched.body));
  assert.is(patched.body.cron, "30 6 * * *");
  assert.ok(patched.body.next_runs.every((run: string) => run.endsWith("T06:30:00.000Z")));
  assert.equal(patched.body.report, { report_name: "top-movies-per-rating", top: 1 });
  const badPatch = await request(`${service.url}/v1/schedules/${id}`, {
    method: "PATCH",
    json: { report: { report_name: "top-movies-per-rating", top: -1 } },
  });
  assert.is(badPatch.status, 400);
  assert.is((await get(`${service.url}/v1/schedules/${id}`)).body.report.top, 1, "a refused PATCH changes nothing");

  const paused = await post(`${service.url}/v1/schedules/${id}/pause`, {});
  assert.is(paused.body.status, "paused");
  assert.is(paused.body.paused.code, "paused_by_user");
  assert.is(paused.body.next_run_at, null);
  assert.equal(paused.body.next_runs, []);
  const resumed = await post(`${service.url}/v1/schedules/${id}/resume`, {});
  assert.is(resumed.body.status, "active");
  assert.ok(new Date(resumed.body.next_run_at).getTime() > Date.now());

  assert.is((await request(`${service.url}/v1/schedules/${id}`, { method: "DELETE" })).status, 204);
  assert.is((await get(`${service.url}/v1/schedules/${id}`)).status, 404);
  assert.is((await request(`${service.url}/v1/schedules/${id}`, { method: "DELETE" })).status, 404);
});

test("SCHEDULE_MIN_INTERVAL_S refuses a cron that ticks more often, at creation and PATCH; SCHEDULES_PER_OWNER caps one key's schedules", async () => {
  const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
  const capped = await startTestService(mongo, {
    worker: false,
    config: { catalogueReloadMs: 0, schedulesPerOwner: 3, apiKeys: parseApiKeys(`carol:${sha256("carol")},dave:${sha256("dave")}`) },
  });
  try {
    const base = `${capped.url}/v1/schedules`;
    const as = (key: string) => ({ Authorization: `Bearer ${key}` });
    const create = (key: string, cron: string) => request(base, { method: "POST", json: { ...weekly, cron }, headers: as(key) });
    // The default minimum is 60 s: every second, every 30 s and a minute with a 5 s pair are refused.
    for (const cron of ["* * * * * *", "*/30 * * * * *", "0,5 0 8 * * *"]) {
      const refused = await create("carol", cron);
      assert.is(refused.status, 422, cron);
      assert.is(refused.body.type, "https://mongo-reports.dev/problems/invalid-schedule");
      assert.match(refused.body.detail, /SCHEDULE_MIN_INTERVAL_S is 60 s/);
      assert.equal(refused.body.errors[0].field, "cron");
    }
    const everyMinute = await create("carol", "* * * * *");
    assert.is(everyMinute.status, 201);
    const patched = await request(`${base}/${everyMinute.body.id}`, {
      method: "PATCH",
      json: { cron: "*/10 * * * * *" },
      headers: as("carol"),
    });
    assert.is(patched.status, 422);
    assert.match(patched.body.detail, /SCHEDULE_MIN_INTERVAL_S/);
    assert.is((await get(`${base}/${everyMinute.body.id}`, as("carol"))).body.cron, "* * * * *");
    assert.is((await create("carol", "0 8 * * *")).status, 201);
    assert.is((await create("carol", "0 9 * * *")).status, 201);
    const over = await create("carol", "0 10 * * *");
    assert.is(over.status, 429);
    assert.is(over.headers.get("content-type"), "application/problem+json");
    assert.is(over.body.type, "https://mongo-reports.dev/problems/too-many-schedules");
    assert.is(over.body.limit, 3);
    assert.match(over.body.detail, /SCHEDULES_PER_OWNER/);
    assert.is((await create("dave", "0 10 * * *")).status, 201, "the cap is per owner");
    assert.is((await request(`${base}/${everyMinute.body.id}`, { method: "DELETE", headers: as("carol") })).status, 204);
    assert.is((await create("carol", "0 10 * * *")).status, 201, "deleting one makes room");
  } finally {
    await capped.close();
  }
});

test("schedules belong to the key that created them: others neither list nor read nor change them; admin sees all", async () => {
  const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
  const keyed = await startTestService(mongo, {
    worker: false,
    config: { catalogueReloadMs: 0, apiKeys: parseApiKeys(`alice:${sha256("alice")},bob:${sha256("bob")},ops:${sha256("ops")}:admin`) },
  });
  try {
    const as = (key: string) => ({ Authorization: `Bearer ${key}` });
    const base = `${keyed.url}/v1/schedules`;
    const mine = await request(base, { method: "POST", json: weekly, headers: as("alice") });
    assert.is(mine.status, 201);
    const listed = async (key: string) => (await get(`${base}?page_size=1000`, as(key))).body.schedules.map((s: { id: string }) => s.id);
    assert.ok((await listed("alice")).includes(mine.body.id));
    assert.not.ok((await listed("bob")).includes(mine.body.id));
    assert.ok((await listed("ops")).includes(mine.body.id));
    assert.is((await get(`${base}/${mine.body.id}`, as("bob"))).status, 404);
    assert.is((await request(`${base}/${mine.body.id}/pause`, { method: "POST", json: {}, headers: as("bob") })).status, 404);
    assert.is((await request(`${base}/${mine.body.id}`, { method: "DELETE", headers: as("bob") })).status, 404);
    assert.is((await get(`${base}/${mine.body.id}`, as("ops"))).status, 200);
    // What it fires belongs to alice too.
    assert.is((await keyed.context.database.schedules.findOne({ _id: new ObjectId(mine.body.id as string) }))?.owner, "alice");
  } finally {
    await keyed.close();
  }
});

test("two worker processes, a schedule every 2 s for 20 s, one worker SIGKILLed midway: one request per tick, none twice", async () => {
  const workers = [0, 1].map(() => spawnWorker(mongo, { env: { LOG_LEVEL: "debug" } }));
  started.push(...workers);
  await Promise.all(workers.map((w) => w.waitFor((e) => e.event === "schedules.started")));
  const created = await post(`${service.url}/v1/schedules`, {
    cron: "*/2 * * * * *",
    timezone: "UTC",
    report: { report_name: "top-movies-per-rating", top: 1 },
  });
  assert.is(created.status, 201);
  const scheduleId = new ObjectId(created.body.id as string);
  const from = Date.now();
  const firstTick = new Date(created.body.next_run_at as string).getTime();
  await sleep(9_000);
  const killedAt = Date.now();
  workers[0].child.kill("SIGKILL");
  await workers[0].exited;
  await sleep(11_000);
  const to = Date.now();
  // On a loaded machine a firing can lag by seconds: wait until every tick up to `to` has been
  // handled (the schedule has moved past it) before stopping it, rather than counting a late tick as lost.
  const schedulePath = `${service.url}/v1/schedules/${scheduleId}`;
  await eventually(async () => (new Date((await get(schedulePath)).body.next_run_at).getTime() > to ? true : undefined), 30_000, 200);
  const skippedTicks = (await get(schedulePath)).body.skipped_ticks ?? 0;
  assert.is((await request(schedulePath, { method: "DELETE" })).status, 204);
  await sleep(1_500); // a firing already under way when the schedule was deleted lands now

  const requests = await service.context.database.requests.find({ schedule_id: scheduleId }).sort({ scheduled_for: 1 }).toArray();
  const ticks = requests.map((r) => r.scheduled_for!.getTime());
  const trace = () =>
    JSON.stringify({ ticks: ticks.map((t) => t - from), first_tick: firstTick - from, killed_at: killedAt - from, until: to - from });
  // Every tick from the first one after creation up to `to`, in 2 s steps: none twice, none skipped
  // (the SIGKILL included); at most one more, fired between `to` and the DELETE.
  const expected: number[] = [];
  for (let tick = firstTick; tick <= to; tick += 2000) expected.push(tick);
  // A tick whose previous run is still pending or running (the killed worker's run waits out its
  // lease) is skipped and counted on the schedule instead of fired.
  const fired = ticks.filter((t) => t <= to);
  assert.ok(
    fired.every((t) => expected.includes(t)),
    `ticks: ${trace()}`,
  );
  assert.is(new Set(fired).size, fired.length, `ticks: ${trace()}`);
  assert.ok(
    fired.length + skippedTicks >= expected.length && fired.length + skippedTicks <= expected.length + 1,
    `skipped ${skippedTicks}; ticks: ${trace()}`,
  );
  assert.ok(ticks.filter((t) => t > to).length <= 1, `ticks: ${trace()}`);
  for (const r of requests) {
    assert.is(r.tick_key, tickKey(scheduleId, r.scheduled_for!), "the request carries the tick's key");
    // An ordinary ObjectId made when the tick fired (history pages by _id), not the tick time.
    assert.ok(r._id.getTimestamp().getTime() >= r.scheduled_for!.getTime() - 1000, "the id is made at firing time");
    assert.is(r.report_name, "top-movies-per-rating");
  }
  // Each request is one successful insert (a worker that loses the race for a tick logs tick_taken);
  // the killed worker may have died between its insert and its log line.
  const firedTicks = workers.flatMap((w) =>
    w.logs.filter((e) => e.event === "schedule.fired" && e.schedule_id === String(scheduleId)).map((e) => e.tick),
  );
  const taken = workers.map((w) => w.logs.filter((e) => e.event === "schedule.tick_taken" && e.schedule_id === String(scheduleId)).length);
  assert.is(new Set(firedTicks).size, firedTicks.length, "two workers both created the request of one tick");
  assert.ok(
    firedTicks.length === requests.length || firedTicks.length === requests.length - 1,
    `${firedTicks.length} fired for ${requests.length}`,
  );
  console.log(
    `  ${requests.length} requests for ${expected.length} ticks in ${((to - from) / 1000).toFixed(1)} s; ` +
      `fired per worker: ${workers.map((w) => w.logs.filter((e) => e.event === "schedule.fired").length)}; lost races per worker: ${taken}`,
  );
});

test("one firer at a time: the lock holder fires every tick, the other process only looks, and takes over when the holder stops", async () => {
  const { context } = service;
  const lockOf = (owner: string) =>
    new DistributedLock(context.database.db.collection<LockDocument>(COLLECTIONS.locks), "schedules", owner, SCHEDULE_LOCK_MS);
  const logged = (name: string) => {
    const entries: Record<string, unknown>[] = [];
    return {
      entries,
      firer: new ScheduleFirer({
        ...firerDeps(),
        pollMs: 200,
        lock: lockOf(name),
        log: createLogger({}, "debug", (l) => entries.push(JSON.parse(l))),
      }),
    };
  };
  const created = await post(`${service.url}/v1/schedules`, {
    cron: "* * * * * *",
    timezone: "UTC",
    report: { report_name: "top-movies-per-rating", top: 1 },
  });
  const scheduleId = new ObjectId(created.body.id as string);
  const a = logged("a");
  const b = logged("b");
  try {
    a.firer.start();
    await eventually(async () => a.entries.some((e) => e.event === "schedule.fired") || undefined, 10_000, 100);
    b.firer.start();
    await sleep(2_500);
    assert.not.ok(
      b.entries.some((e) => e.event === "schedule.fired" || e.event === "schedule.tick_taken"),
      "b fired nothing while a held the lock",
    );
    assert.ok(b.entries.some((e) => e.event === "schedules.firing_elsewhere"));
    await a.firer.stop(); // gives the lock up
    // No worker runs a's request here, so b skips the ticks after it (previous_run_unfinished): b fires or skips.
    await eventually(
      async () => b.entries.some((e) => e.event === "schedule.fired" || e.event === "schedule.skipped") || undefined,
      10_000,
      100,
    );
  } finally {
    await Promise.all([a.firer.stop(), b.firer.stop()]);
    await request(`${service.url}/v1/schedules/${scheduleId}`, { method: "DELETE" });
  }
  const requests = await context.database.requests.find({ schedule_id: scheduleId }).toArray();
  const keys = requests.map((r) => r.tick_key);
  assert.is(new Set(keys).size, keys.length, "one request per tick");
  const taken = [...a.entries, ...b.entries].filter((e) => e.event === "schedule.tick_taken");
  assert.equal(taken, [], "no process tried a tick another had fired");
});

test("a tick another process already fired (its tick_key exists) is not fired again; the run records that request", async () => {
  const created = await post(`${service.url}/v1/schedules`, {
    cron: "*/10 * * * * *",
    timezone: "UTC",
    report: { report_name: "top-movies-per-rating", top: 2 },
  });
  const id = new ObjectId(created.body.id as string);
  const due = new Date(Math.floor(Date.now() / 10_000) * 10_000);
  await service.context.database.schedules.updateOne({ _id: id }, { $set: { next_run_at: due } });
  const earlier = await service.context.store.submit({
    report_name: "top-movies-per-rating",
    params: { top: 2 },
    output: "json",
    schedule_id: id,
    scheduled_for: due,
    tick_key: tickKey(id, due),
  });
  await firer().fireDue(new Date(due.getTime() + 500));
  const requests = await service.context.database.requests.find({ schedule_id: id }).toArray();
  assert.equal(
    requests.map((r) => String(r._id)),
    [String(earlier._id)],
  );
  const schedule = (await get(`${service.url}/v1/schedules/${id}`)).body;
  assert.is(schedule.runs[0].request_id, String(earlier._id));
  await request(`${service.url}/v1/schedules/${id}`, { method: "DELETE" });
});

test("ticks missed while no worker ran fire once on recovery, and the schedule says so", async () => {
  const created = await post(`${service.url}/v1/schedules`, {
    cron: "*/10 * * * * *",
    timezone: "UTC",
    report: { report_name: "top-movies-per-rating", top: 2 },
  });
  const id = new ObjectId(created.body.id as string);
  // As if every worker had been down for the last minute: the schedule has been due since then.
  const due = new Date(Math.floor(Date.now() / 10_000) * 10_000 - 60_000);
  await service.context.database.schedules.updateOne({ _id: id }, { $set: { next_run_at: due } });
  const now = new Date();
  await firer().fireDue(now);
  await firer().fireDue(now); // a second worker at the same moment finds nothing left to fire
  const requests = await service.context.database.requests.find({ schedule_id: id }).toArray();
  assert.is(requests.length, 1);
  const latest = Math.floor(now.getTime() / 10_000) * 10_000;
  assert.is(requests[0].scheduled_for!.getTime(), latest);
  const schedule = (await get(`${service.url}/v1/schedules/${id}`)).body;
  assert.is(schedule.runs.length, 1);
  assert.equal(schedule.runs[0].missed_ticks, {
    count: (latest - due.getTime()) / 10_000,
    at_least: false,
    first: due.toISOString(),
    last: new Date(latest - 10_000).toISOString(),
  });
  assert.is(schedule.last_missed.count, (latest - due.getTime()) / 10_000);
  assert.is(schedule.runs[0].request_id, String(requests[0]._id));
  assert.ok(["pending", "running", "completed"].includes(schedule.runs[0].status));
  assert.is(new Date(schedule.next_run_at).getTime(), latest + 10_000);
});

test("a tick is skipped while the schedule's previous run is pending, and while its owner's queue is full (MAX_QUEUED_PER_OWNER); the schedule says why", async () => {
  const { context } = service;
  const base = {
    cron: "*/10 * * * * *",
    timezone: "UTC",
    report: { report_name: "top-movies-per-rating", top: 3 },
    output: "json" as const,
  };
  const due = new Date(Math.floor(Date.now() / 10_000) * 10_000);
  // No worker runs here: the first tick's request stays pending, so the next tick must not fire.
  const lone = await context.schedules.create({ ...base, callback_url: null, owner: null, next_run_at: due });
  await firer().fireDue(new Date(due.getTime() + 500));
  await firer().fireDue(new Date(due.getTime() + 10_500));
  const requests = await context.database.requests.find({ schedule_id: lone._id }).toArray();
  assert.is(requests.length, 1, "the second tick fired while the first run was pending");
  const shown = (await get(`${service.url}/v1/schedules/${lone._id}`)).body;
  assert.is(shown.skipped_ticks, 1);
  assert.is(shown.last_skipped.reason, "previous_run_unfinished");
  assert.is(shown.last_skipped.tick, new Date(due.getTime() + 10_000).toISOString());
  assert.is(new Date(shown.next_run_at).getTime(), due.getTime() + 20_000);
  // The owner already has as many requests queued as MAX_QUEUED_PER_OWNER allows: the tick is skipped.
  const owned = await context.schedules.create({ ...base, callback_url: null, owner: "erin", next_run_at: due });
  await context.store.submit({ report_name: "top-movies-per-rating", params: { top: 1 }, output: "json", owner: "erin" });
  await new ScheduleFirer({ ...firerDeps(), maxQueuedPerOwner: 1 }).fireDue(new Date(due.getTime() + 500));
  assert.is(await context.database.requests.countDocuments({ schedule_id: owned._id }), 0);
  const full = await context.schedules.get(owned._id);
  assert.is(full?.last_skipped?.reason, "owner_queue_full");
  assert.match(full?.last_skipped?.message ?? "", /MAX_QUEUED_PER_OWNER is 1/);
  await context.database.schedules.deleteMany({ _id: { $in: [lone._id, owned._id] } });
});

test("a schedule whose report disappears, or whose body no longer validates, pauses itself with the reason", async () => {
  const definitions = service.context.database.db.collection(COLLECTIONS.definitions);
  const definition = {
    name: "schedule-target",
    collection: "movies",
    description: "Movies per year, for schedule tests.",
    parameters: { type: "object", properties: { min_votes: { type: "integer", minimum: 0 } } },
    pipeline: [{ $match: { "imdb.votes": { $gte: { $param: "min_votes" } } } }, { $group: { _id: "$year", movies: { $sum: 1 } } }],
    columns: [{ name: "_id" }, { name: "movies" }],
  };
  await service.context.definitionVersions.save(definition, "api");
  await service.context.catalogueLoader.refresh();
  const make = async (report: Record<string, unknown>) =>
    new ObjectId((await post(`${service.url}/v1/schedules`, { cron: "* * * * * *", timezone: "UTC", report })).body.id as string);
  const invalidated = await make({ report_name: "schedule-target", min_votes: 10 });
  const orphaned = await make({ report_name: "theaters-per-city" });
  const miswritten = await make({ report_name: "top-movies-per-rating" });
  await service.context.database.schedules.updateOne({ _id: miswritten }, { $set: { cron: "every monday" } }); // edited in MongoDB
  // The definition drops its parameter; the seeded theaters-per-city is retired.
  await service.context.definitionVersions.save(
    {
      ...definition,
      parameters: { type: "object", properties: {} },
      pipeline: definition.pipeline.slice(1),
    },
    "api",
  );
  await definitions.deleteOne({ name: "theaters-per-city" });
  await service.context.catalogueLoader.refresh(); // what every process does each CATALOGUE_RELOAD_MS
  await sleep(1100);
  await firer().fireDue(new Date());
  const a = (await get(`${service.url}/v1/schedules/${invalidated}`)).body;
  assert.is(a.status, "paused");
  assert.is(a.paused.code, "invalid_report");
  assert.equal(a.paused.errors, [{ field: "min_votes", message: 'unknown field "min_votes"' }]);
  const b = (await get(`${service.url}/v1/schedules/${orphaned}`)).body;
  assert.is(b.status, "paused");
  assert.is(b.paused.code, "unknown_report");
  assert.match(b.paused.message, /theaters-per-city/);
  const c = (await get(`${service.url}/v1/schedules/${miswritten}`)).body;
  assert.is(c.status, "paused");
  assert.is(c.paused.code, "invalid_schedule");
  assert.is(c.paused.errors[0].field, "cron");
  assert.is(await service.context.database.requests.countDocuments({ schedule_id: { $in: [invalidated, orphaned, miswritten] } }), 0);
  // Resuming is refused while the body still does not validate.
  const resume = await post(`${service.url}/v1/schedules/${invalidated}/resume`, {});
  assert.is(resume.status, 400);
  assert.is((await get(`${service.url}/v1/schedules/${invalidated}`)).body.status, "paused");
});

test.run();
