/**
 * Recurring reports: `/v1/schedules`. A schedule is a report body (validated exactly as a submit
 * validates it) plus a cron pattern in a timezone; workers fire it (schedules/firer.ts). Schedules
 * belong to the API key that created them, like requests.
 */
import type { Context } from "koa";
import { ObjectId } from "mongodb";
import type { Config } from "../../config.ts";
import { outputSchema, type NamedOutput, type OutputKind } from "../../requests/output.ts";
import type { RequestStore } from "../../requests/store.ts";
import { parseSubmission, UnknownReportSubmission, type Submission } from "../../requests/submission.ts";
import type { ReportCatalogue } from "../../reports/registry.ts";
import { ValidationError } from "../../reports/validation.ts";
import type { ScheduleDocument } from "../../schedules/document.ts";
import type { ScheduleChanges, ScheduleStore } from "../../schedules/store.ts";
import { cronProblems, nextRun, nextRuns, shortestGap, type CronSpec } from "../../schedules/times.ts";
import type { JsonSchema } from "../../reports/json-schema.ts";
import { callerName, callerVisibility } from "../access.ts";
import { pageParameters, parsePage } from "../pagination.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { unknownReportProblem } from "../unknown-report.ts";
import { requestPath } from "../../requests/representation.ts";
import { ID_PATTERN } from "../request-id.ts";
import type { FieldError } from "../declared-input.ts";
import { jsonContent, ref, route, type ParameterDeclaration, type RouteDeclaration } from "../route.ts";
import { checkCallback, invalid, requireJsonObject } from "./reports.ts";
import { STATUSES } from "../../requests/status.ts";

export interface ScheduleRouteDeps {
  config: Config;
  schedules: ScheduleStore;
  store: RequestStore;
  catalogue: ReportCatalogue;
  outputs: readonly NamedOutput[];
}

const FIELDS = new Set(["cron", "timezone", "report", "output", "callback_url"]);
/** How many upcoming run times a schedule shows. */
const NEXT_RUNS_SHOWN = 5;

function schedulePath(id: unknown): string {
  return `/v1/schedules/${String(id)}`;
}

function parseScheduleId(raw: string): ObjectId {
  if (!new RegExp(ID_PATTERN).test(raw)) {
    throw new ProblemError(PROBLEMS.invalidScheduleId, `${JSON.stringify(raw)} is not a schedule id (24 hexadecimal characters)`);
  }
  return new ObjectId(raw);
}

function notFound(id: ObjectId): ProblemError {
  return new ProblemError(PROBLEMS.scheduleNotFound, `no schedule with id ${String(id)}`);
}

const scheduleIdParameter: ParameterDeclaration = {
  name: "id",
  in: "path",
  required: true,
  description: "the schedule's id (24 hexadecimal characters)",
  schema: { type: "string", pattern: ID_PATTERN },
  problem: PROBLEMS.invalidScheduleId,
};

const dateTime: JsonSchema = { type: "string", format: "date-time" };
const nullableDateTime: JsonSchema = { type: ["string", "null"], format: "date-time" };
const idSchema: JsonSchema = { type: "string", pattern: "^[0-9a-f]{24}$" };
const fieldErrors: JsonSchema = {
  type: "array",
  items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } }, required: ["field", "message"] },
};
const missedTicksProperties: Record<string, JsonSchema> = {
  count: { type: "integer", minimum: 1 },
  at_least: { type: "boolean", description: "counting stopped at the limit: at least this many" },
  first: dateTime,
  last: dateTime,
};

/** The schemas of what represent() builds and what POST/PATCH take, field for field. */
export const SCHEDULE_SCHEMAS: Record<string, JsonSchema> = {
  Schedule: {
    type: "object",
    additionalProperties: false,
    properties: {
      id: idSchema,
      cron: { type: "string", description: "five fields, or six with seconds first (croner syntax)" },
      timezone: { type: "string", description: "IANA timezone the pattern is read in" },
      report: { type: "object", description: "the body of a POST /v1/reports (without output)", required: ["report_name"] },
      output: outputSchema(),
      callback_url: { type: "string" },
      status: { type: "string", enum: ["active", "paused"] },
      paused: {
        type: "object",
        description: "why the schedule is paused: by its owner (paused_by_user) or by itself (unknown_report, invalid_report)",
        additionalProperties: false,
        properties: { code: { type: "string" }, message: { type: "string" }, errors: fieldErrors, at: dateTime },
        required: ["code", "message", "at"],
      },
      next_run_at: nullableDateTime,
      next_runs: { type: "array", items: dateTime, maxItems: NEXT_RUNS_SHOWN, description: "the next run times (none while paused)" },
      runs: {
        type: "array",
        description: "the most recent runs, oldest first, with their requests' current statuses",
        items: {
          type: "object",
          additionalProperties: false,
          properties: {
            tick: dateTime,
            request_id: idSchema,
            fired_at: dateTime,
            status: { type: "string", enum: [...STATUSES, "deleted"] },
            missed_ticks: {
              type: "object",
              description: "ticks that passed while no worker ran: they were not fired late, this run fired instead",
              additionalProperties: false,
              properties: missedTicksProperties,
              required: ["count", "at_least", "first", "last"],
            },
            links: { type: "object", additionalProperties: false, properties: { request: { type: "string" } }, required: ["request"] },
          },
          required: ["tick", "request_id", "fired_at", "status", "links"],
        },
      },
      skipped_ticks: {
        type: "integer",
        minimum: 0,
        description: "ticks not fired: the previous run unfinished, or the owner's queue full",
      },
      last_skipped: {
        type: "object",
        description: "the latest tick not fired, and why (previous_run_unfinished · owner_queue_full)",
        additionalProperties: false,
        properties: { tick: dateTime, at: dateTime, reason: { type: "string" }, message: { type: "string" } },
        required: ["tick", "at", "reason", "message"],
      },
      last_missed: {
        type: "object",
        description: "the latest run that stood in for missed ticks",
        additionalProperties: false,
        properties: { ...missedTicksProperties, fired_instead: dateTime },
      },
      created_at: dateTime,
      updated_at: dateTime,
      links: {
        type: "object",
        additionalProperties: false,
        properties: { self: { type: "string" }, pause: { type: "string" }, resume: { type: "string" } },
        required: ["self", "pause", "resume"],
      },
    },
    required: [
      "id",
      "cron",
      "timezone",
      "report",
      "output",
      "status",
      "next_run_at",
      "next_runs",
      "runs",
      "created_at",
      "updated_at",
      "links",
    ],
  },
  ScheduleInput: {
    type: "object",
    additionalProperties: false,
    properties: {
      cron: { type: "string", minLength: 1, examples: ["0 8 * * 1", "*/30 * * * * *"] },
      timezone: { type: "string", default: "UTC", examples: ["Europe/Paris"] },
      report: {
        type: "object",
        description: "the body of a POST /v1/reports",
        properties: { report_name: { type: "string", minLength: 1 } },
        required: ["report_name"],
      },
      output: outputSchema(),
      callback_url: {
        type: ["string", "null"],
        description: "where each fired request POSTs its final status (signed webhooks; checked as POST /v1/reports checks it)",
      },
    },
  },
  NewSchedule: {
    allOf: [{ $ref: "#/components/schemas/ScheduleInput" }],
    required: ["cron", "report"],
  },
};

/** The schedule schemas of a deployment: `callback_url` is offered only where webhooks are configured. */
export function scheduleSchemas(callbacks: boolean): Record<string, JsonSchema> {
  if (callbacks) return SCHEDULE_SCHEMAS;
  const input = SCHEDULE_SCHEMAS.ScheduleInput as { properties: Record<string, JsonSchema> };
  const { callback_url: _offered, ...properties } = input.properties;
  return { ...SCHEDULE_SCHEMAS, ScheduleInput: { ...input, properties } };
}

/** The schedule as a client sees it: upcoming runs, past runs with their requests' current statuses, links. */
async function represent(doc: ScheduleDocument, store: RequestStore, now = new Date()): Promise<Record<string, unknown>> {
  const statuses = await store.statuses(doc.runs.map((r) => r.request_id));
  const runs = doc.runs.map((run) => ({
    tick: run.tick,
    request_id: String(run.request_id),
    fired_at: run.fired_at,
    status: statuses.get(String(run.request_id)) ?? "deleted",
    ...(run.missed_ticks ? { missed_ticks: run.missed_ticks } : {}),
    links: { request: requestPath(run.request_id) },
  }));
  const lastMissed = [...doc.runs].reverse().find((r) => r.missed_ticks);
  return {
    id: String(doc._id),
    cron: doc.cron,
    timezone: doc.timezone,
    report: doc.report,
    output: doc.output,
    ...(doc.callback_url ? { callback_url: doc.callback_url } : {}),
    status: doc.status,
    ...(doc.paused ? { paused: doc.paused } : {}),
    next_run_at: doc.next_run_at,
    next_runs:
      doc.status === "active"
        ? nextRuns(doc, new Date(Math.max(now.getTime(), (doc.next_run_at?.getTime() ?? 0) - 1)), NEXT_RUNS_SHOWN)
        : [],
    runs,
    ...(doc.skipped_ticks ? { skipped_ticks: doc.skipped_ticks } : {}),
    ...(doc.last_skipped ? { last_skipped: doc.last_skipped } : {}),
    ...(lastMissed ? { last_missed: { ...lastMissed.missed_ticks, fired_instead: lastMissed.tick } } : {}),
    created_at: doc.created_at,
    updated_at: doc.updated_at,
    links: { self: schedulePath(doc._id), pause: `${schedulePath(doc._id)}/pause`, resume: `${schedulePath(doc._id)}/resume` },
  };
}

interface ScheduleInput {
  spec: CronSpec;
  report: Record<string, unknown>;
  output: OutputKind;
  callback_url: string | null;
}

export function scheduleRoutes(deps: ScheduleRouteDeps): RouteDeclaration[] {
  /** The report body, checked exactly as POST /v1/reports checks it; field names are prefixed with `report.`. */
  function checkReport(report: Record<string, unknown>, output: unknown): Submission {
    try {
      return parseSubmission({ ...report, ...(output === undefined ? {} : { output }) }, deps.catalogue, { outputs: deps.outputs });
    } catch (error) {
      if (error instanceof ValidationError) {
        throw invalid(error.errors.map((e) => ({ field: e.field === "output" ? "output" : `report.${e.field}`, message: e.message })));
      }
      if (error instanceof UnknownReportSubmission) {
        throw unknownReportProblem(error.message, error.reportName, error.available);
      }
      throw error;
    }
  }

  /** A schedule may not tick more often than SCHEDULE_MIN_INTERVAL_S: each tick is a report run. */
  function intervalProblems(spec: CronSpec, now: Date): { field: string; message: string }[] {
    const minimum = deps.config.scheduleMinIntervalS;
    const gap = shortestGap(spec, now);
    if (gap === null || gap >= minimum * 1000) return [];
    return [{ field: "cron", message: `ticks come ${gap / 1000} s apart; SCHEDULE_MIN_INTERVAL_S is ${minimum} s` }];
  }

  /** SCHEDULES_PER_OWNER: one key cannot fill the queue by creating schedules without end. */
  async function checkScheduleCap(owner: string | null): Promise<void> {
    const limit = deps.config.schedulesPerOwner;
    if (limit === 0 || (await deps.schedules.countOwned(owner)) < limit) return;
    throw new ProblemError(PROBLEMS.tooManySchedules, `this owner already has ${limit} schedules (SCHEDULES_PER_OWNER); delete one first`, {
      extensions: { limit },
    });
  }

  /** Validates a whole schedule (a new one, or an existing one with a PATCH applied). */
  async function checkInput(body: Record<string, unknown>, now: Date): Promise<ScheduleInput> {
    const errors: { field: string; message: string }[] = [];
    for (const key of Object.keys(body)) if (!FIELDS.has(key)) errors.push({ field: key, message: `unknown field ${JSON.stringify(key)}` });
    const { cron, timezone = "UTC", report, output, callback_url: callbackUrl = null } = body;
    if (typeof cron !== "string" || cron.trim() === "")
      errors.push({ field: "cron", message: 'required: a cron pattern such as "0 8 * * 1"' });
    if (typeof timezone !== "string") errors.push({ field: "timezone", message: 'must be an IANA timezone such as "Europe/Paris"' });
    if (report === null || typeof report !== "object" || Array.isArray(report)) {
      errors.push({
        field: "report",
        message: 'required: the body of a POST /v1/reports, such as {"report_name": "top-movies-per-rating"}',
      });
    }
    if (errors.length > 0) throw invalid(errors);
    // Well-formed, but not a schedule this service runs (a pattern that does not parse, an unknown
    // timezone): what no schema can say is answered 422, as a definition's meaning is.
    const scheduleErrors = cronProblems({ cron: cron as string, timezone: timezone as string }, now);
    if (scheduleErrors.length === 0) scheduleErrors.push(...intervalProblems({ cron: cron as string, timezone: timezone as string }, now));
    if (scheduleErrors.length > 0) {
      throw new ProblemError(PROBLEMS.invalidSchedule, scheduleErrors.map((e) => `${e.field}: ${e.message}`).join("; "), {
        extensions: { errors: scheduleErrors },
      });
    }
    const { output: reportOutput, ...reportBody } = report as Record<string, unknown>;
    const submission = checkReport(reportBody, output ?? reportOutput);
    // Checked as a submit checks it (https to a public address, unless allowed); each delivery checks again.
    const callback = callbackUrl === null ? null : await checkCallback(callbackUrl, deps.config);
    return {
      spec: { cron: (cron as string).trim(), timezone: timezone as string },
      // Stored as the client wrote it (not normalised): it is validated again at every firing,
      // against the catalogue of that moment.
      report: { ...reportBody, report_name: submission.report_name },
      output: submission.output,
      callback_url: callback,
    };
  }

  async function create(ctx: Context): Promise<void> {
    const now = new Date();
    const input = await checkInput(requireJsonObject(ctx), now);
    await checkScheduleCap(callerName(ctx));
    const doc = await deps.schedules.create(
      {
        ...input.spec,
        report: input.report,
        output: input.output,
        callback_url: input.callback_url,
        owner: callerName(ctx),
        next_run_at: nextRun(input.spec, now),
      },
      now,
    );
    ctx.status = 201;
    ctx.set("Location", schedulePath(doc._id));
    ctx.body = await represent(doc, deps.store, now);
  }

  async function list(ctx: Context): Promise<void> {
    const page = parsePage(ctx.query, deps.config);
    const { schedules, total } = await deps.schedules.list(callerVisibility(ctx), page.page, page.pageSize);
    const totalPages = Math.ceil(total / page.pageSize);
    const link = (n: number) => `/v1/schedules?page=${n}&page_size=${page.pageSize}`;
    ctx.body = {
      schedules: await Promise.all(schedules.map((doc) => represent(doc, deps.store))),
      page: page.page,
      page_size: page.pageSize,
      total,
      total_pages: totalPages,
      links: {
        self: link(page.page),
        first: link(0),
        last: link(Math.max(0, totalPages - 1)),
        ...(page.page + 1 < totalPages ? { next: link(page.page + 1) } : {}),
        ...(page.page > 0 ? { prev: link(Math.min(page.page - 1, Math.max(0, totalPages - 1))) } : {}),
      },
    };
  }

  async function read(ctx: Context): Promise<void> {
    const id = parseScheduleId(ctx.params.id);
    const doc = await deps.schedules.get(id, callerVisibility(ctx));
    if (!doc) throw notFound(id);
    ctx.body = await represent(doc, deps.store);
  }

  // JSON merge patch (RFC 7396) of cron, timezone, report (replaced whole), output, callback_url.
  async function patch(ctx: Context): Promise<void> {
    const id = parseScheduleId(ctx.params.id);
    const patch = requireJsonObject(ctx);
    const visibility = callerVisibility(ctx);
    const doc = await deps.schedules.get(id, visibility);
    if (!doc) throw notFound(id);
    const now = new Date();
    const merged: Record<string, unknown> = {
      cron: doc.cron,
      timezone: doc.timezone,
      report: doc.report,
      output: doc.output,
      callback_url: doc.callback_url ?? null,
    };
    for (const [key, value] of Object.entries(patch)) merged[key] = value;
    const input = await checkInput(merged, now);
    const timingChanged = input.spec.cron !== doc.cron || input.spec.timezone !== doc.timezone;
    const changes: ScheduleChanges = { ...input.spec, report: input.report, output: input.output, callback_url: input.callback_url };
    if (timingChanged && doc.status === "active") changes.next_run_at = nextRun(input.spec, now);
    const updated = await deps.schedules.update(id, visibility, changes, now);
    if (!updated) throw notFound(id);
    ctx.body = await represent(updated, deps.store, now);
  }

  async function remove(ctx: Context): Promise<void> {
    const id = parseScheduleId(ctx.params.id);
    if (!(await deps.schedules.delete(id, callerVisibility(ctx)))) throw notFound(id);
    ctx.status = 204;
  }

  async function pause(ctx: Context): Promise<void> {
    const id = parseScheduleId(ctx.params.id);
    const now = new Date();
    const doc = await deps.schedules.pause(id, callerVisibility(ctx), {
      code: "paused_by_user",
      message: "paused through the API",
      at: now,
    });
    if (!doc) throw notFound(id);
    ctx.body = await represent(doc, deps.store, now);
  }

  // Resumes at the next tick after now: ticks that passed while paused are not fired.
  async function resume(ctx: Context): Promise<void> {
    const id = parseScheduleId(ctx.params.id);
    const visibility = callerVisibility(ctx);
    const doc = await deps.schedules.get(id, visibility);
    if (!doc) throw notFound(id);
    const now = new Date();
    if (doc.status === "paused") {
      // A schedule that paused itself resumes only once its body validates again.
      checkReport(doc.report, doc.output);
    }
    const resumed = await deps.schedules.resume(id, visibility, nextRun(doc, now), now);
    if (!resumed) throw notFound(id);
    ctx.body = await represent(resumed, deps.store, now);
  }

  const schedule = jsonContent(ref("Schedule"));
  const callbacks = Boolean(deps.config.webhookSecret);
  const input = { required: true, content: jsonContent(ref("ScheduleInput")) };
  const bodyProblems = [PROBLEMS.invalidBody, PROBLEMS.invalidParameters, PROBLEMS.invalidSchedule, PROBLEMS.unknownReport];
  const refuseBody = (errors: FieldError[], body: unknown) =>
    body === null || typeof body !== "object" || Array.isArray(body)
      ? new ProblemError(PROBLEMS.invalidBody, 'the body must be a JSON object such as {"cron": "0 8 * * 1", "report": {…}}')
      : invalid(
          errors.map((e) =>
            e.field === "callback_url" && !callbacks
              ? { ...e, message: "this deployment sends no webhooks (WEBHOOK_SECRET is not set)" }
              : e,
          ),
        );
  const common = { tags: ["schedules"], components: scheduleSchemas(callbacks), refuseBody };
  return [
    route({
      ...common,
      method: "POST",
      path: "/v1/schedules",
      operationId: "createSchedule",
      summary: "Schedule a report on a cron pattern in a timezone; the body is validated as POST /v1/reports validates it",
      access: "submit",
      requestBody: { required: true, content: jsonContent(ref("NewSchedule")) },
      responses: {
        201: {
          description: "The schedule, with its next five run times",
          content: schedule,
          headers: { Location: { description: "the schedule's URL", schema: { type: "string" } } },
        },
      },
      problems: [...bodyProblems, PROBLEMS.tooManySchedules],
      handler: create,
    }),
    route({
      ...common,
      method: "GET",
      path: "/v1/schedules",
      operationId: "listSchedules",
      summary: "Your schedules (every one for admin keys), oldest first, paged",
      access: "read",
      parameters: pageParameters(deps.config, "the page of schedules"),
      responses: {
        200: {
          description: "One page of schedules",
          content: jsonContent({
            type: "object",
            additionalProperties: false,
            properties: {
              schedules: { type: "array", items: ref("Schedule") },
              page: { type: "integer", minimum: 0 },
              page_size: { type: "integer", minimum: 1 },
              total: { type: "integer", minimum: 0 },
              total_pages: { type: "integer", minimum: 0 },
              links: { type: "object", additionalProperties: { type: "string" }, required: ["self", "first", "last"] },
            },
            required: ["schedules", "page", "page_size", "total", "total_pages", "links"],
          }),
        },
      },
      problems: [PROBLEMS.invalidQuery],
      handler: list,
    }),
    route({
      ...common,
      method: "GET",
      path: "/v1/schedules/:id",
      operationId: "getSchedule",
      summary: "One schedule: next run times, recent runs with their requests' statuses, missed ticks, why it is paused",
      access: "read",
      parameters: [scheduleIdParameter],
      responses: { 200: { description: "The schedule", content: schedule } },
      problems: [PROBLEMS.invalidScheduleId, PROBLEMS.scheduleNotFound],
      handler: read,
    }),
    route({
      ...common,
      method: "PATCH",
      path: "/v1/schedules/:id",
      operationId: "updateSchedule",
      summary: "Change a schedule (JSON merge patch of cron, timezone, report, output, callback_url); validated whole, as at creation",
      access: "submit",
      parameters: [scheduleIdParameter],
      requestBody: input,
      responses: { 200: { description: "The changed schedule", content: schedule } },
      problems: [PROBLEMS.invalidScheduleId, PROBLEMS.scheduleNotFound, ...bodyProblems],
      handler: patch,
    }),
    route({
      ...common,
      method: "DELETE",
      path: "/v1/schedules/:id",
      operationId: "deleteSchedule",
      summary: "Delete a schedule (the requests it fired stay)",
      access: "submit",
      parameters: [scheduleIdParameter],
      responses: { 204: { description: "Deleted" } },
      problems: [PROBLEMS.invalidScheduleId, PROBLEMS.scheduleNotFound],
      handler: remove,
    }),
    route({
      ...common,
      method: "POST",
      path: "/v1/schedules/:id/pause",
      operationId: "pauseSchedule",
      summary: "Pause a schedule: no tick fires until it is resumed",
      access: "submit",
      parameters: [scheduleIdParameter],
      responses: { 200: { description: "The paused schedule", content: schedule } },
      problems: [PROBLEMS.invalidScheduleId, PROBLEMS.scheduleNotFound],
      handler: pause,
    }),
    route({
      ...common,
      method: "POST",
      path: "/v1/schedules/:id/resume",
      operationId: "resumeSchedule",
      summary:
        "Resume a schedule at its next tick (ticks that passed while paused are not fired); refused while its report body does not validate",
      access: "submit",
      parameters: [scheduleIdParameter],
      responses: { 200: { description: "The resumed schedule", content: schedule } },
      problems: [PROBLEMS.invalidScheduleId, PROBLEMS.scheduleNotFound, PROBLEMS.invalidParameters, PROBLEMS.unknownReport],
      handler: resume,
    }),
  ];
}
