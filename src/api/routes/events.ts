/**
 * `GET /v1/reports/:id/events`: the request's life as server-sent events. One `status` event per
 * transition (data: the status body, id: the lifecycle position, see requests/lifecycle.ts), a
 * `progress` event when the running job's progress moved (at most once a second: that is how
 * often the worker writes it and the process reads it), comments as heartbeats, and the end of
 * the stream after the final status. A reconnect with `Last-Event-ID` first gets the transitions
 * it missed; a client reconnecting after the final status gets 204, which tells `EventSource`
 * to stop.
 */
import { PassThrough } from "node:stream";
import type { Context } from "koa";
import type { RequestDocument, RequestProgress } from "../../requests/document.ts";
import { compareSteps, formatStep, lifecycleOf, missedSteps, parseStep, type LifecycleStep } from "../../requests/lifecycle.ts";
import type { RequestStore } from "../../requests/store.ts";
import type { RequestWatch } from "../../requests/watch.ts";
import { callerVisibility } from "../access.ts";
import { CallerSlots, type ReleaseSlot } from "../caller-slots.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { representRequest } from "../../requests/representation.ts";
import { idParameter, parseId, reportNotFound } from "../request-id.ts";
import { route, type RouteDeclaration } from "../route.ts";
import { RequestStatus } from "../../requests/status.ts";

export interface EventRouteDeps {
  store: RequestStore;
  watch: RequestWatch;
  /** Comment lines this often keep proxies and load balancers from closing an idle stream. */
  heartbeatMs: number;
  /** MAX_STREAMS_PER_KEY (0: no cap). */
  maxStreamsPerKey?: number;
  /** STREAM_MAX_S: a stream ends after this long; the client resumes with Last-Event-ID. */
  streamMaxMs?: number;
}

/** How long EventSource waits before reconnecting (the `retry:` field). */
const RECONNECT_MS = 2000;

/** One server-sent event as the stream's parsers read it (comments and `retry:` lines carry no event). */
const SSE_EVENT = {
  type: "object",
  properties: {
    event: { type: "string", enum: ["status", "progress"] },
    id: { type: "string", pattern: "^[0-9]{1,6}\\.[123]$" },
    data: { type: "string", description: "the status body (or the progress) as JSON" },
    retry: { type: "integer", minimum: 0 },
  },
};

export function eventRoutes(deps: EventRouteDeps): RouteDeclaration[] {
  // Open streams per key (per client address without keys), in this process.
  const slots = new CallerSlots(deps.maxStreamsPerKey ?? 0);
  const claimSlot = (ctx: Context): ReleaseSlot => {
    const release = slots.claim(ctx);
    if (release) return release;
    throw new ProblemError(
      PROBLEMS.tooManyStreams,
      `${slots.heldBy(ctx)} event streams are open for this key (MAX_STREAMS_PER_KEY is ${slots.limit}); close one first`,
      {
        extensions: { limit: slots.limit },
        headers: { "Retry-After": "10" },
      },
    );
  };
  return [
    route({
      method: "GET",
      path: "/v1/reports/:id/events",
      operationId: "followReport",
      summary: "The request's transitions and progress as server-sent events, until the final status",
      description:
        "`event: status` per transition (id `<attempts>.<step>`: step 1 running, 2 pending, 3 finished; data: the status body), " +
        "`event: progress` when the running job's progress moved (at most once a second), `: heartbeat` comments, and the end " +
        "of the stream after the final status. With `Last-Event-ID` the transitions after that id come first (rebuilt ones " +
        "carry `replayed: true`).",
      tags: ["reports"],
      access: "read",
      parameters: [
        idParameter,
        {
          name: "Last-Event-ID",
          in: "header",
          description: "resume: the transitions after this event id are sent first",
          schema: { type: "string", pattern: "^[0-9]{1,6}\\.[123]$" },
        },
      ],
      responses: {
        200: { description: "An event stream", content: { "text/event-stream": SSE_EVENT } },
        204: { description: "The request finished and the client has seen its final status: stop reconnecting" },
      },
      problems: [PROBLEMS.invalidId, PROBLEMS.reportNotFound, PROBLEMS.tooManyStreams],
      handler: async (ctx) => {
        const id = parseId(ctx.params.id);
        const doc = await deps.store.get(id, callerVisibility(ctx));
        if (!doc) throw reportNotFound(id);
        const seen = parseStep(ctx.get("Last-Event-ID") || undefined);
        const current = lifecycleOf(doc);
        if (current.step === 3 && seen && compareSteps(seen, current) >= 0) {
          ctx.status = 204; // finished, and the client saw it: nothing more will ever come
          return;
        }
        stream(ctx, deps, doc, seen, claimSlot(ctx));
      },
    }),
  ];
}

function stream(ctx: Context, deps: EventRouteDeps, first: RequestDocument, seen: LifecycleStep | null, release: ReleaseSlot): void {
  const body = new PassThrough();
  ctx.status = 200;
  ctx.type = "text/event-stream";
  ctx.set("Cache-Control", "no-cache, no-transform");
  ctx.set("X-Accel-Buffering", "no"); // nginx: pass events through as they come
  ctx.body = body;
  ctx.req.socket.setNoDelay(true);
  ctx.req.socket.setTimeout(0);

  let last = seen;
  let lastProgress = "";
  let finished = false;
  const write = (text: string) => {
    if (!finished) body.write(text);
  };
  const finish = () => {
    if (finished) return;
    finished = true;
    release();
    stopFollowing();
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    body.end();
  };

  const deliver = (doc: RequestDocument | null) => {
    if (finished) return;
    if (!doc) {
      write(event("gone", { id: String(first._id), detail: "the request no longer exists (removed after its retention period)" }));
      finish();
      return;
    }
    const step = lifecycleOf(doc);
    if (last === null || compareSteps(step, last) !== 0) {
      for (const missed of missedSteps(last, step)) write(event("status", replayedStatus(doc, missed), formatStep(missed)));
      write(event("status", representRequest(doc), formatStep(step)));
      last = step;
    }
    if (step.step === 3) {
      finish();
      return;
    }
    if (doc.status === RequestStatus.Running && doc.progress) {
      const key = progressKey(doc.progress);
      if (key !== lastProgress) {
        lastProgress = key;
        write(event("progress", { id: String(doc._id), ...doc.progress }));
      }
    }
  };

  write(`retry: ${RECONNECT_MS}\n\n`);
  const stopFollowing = deps.watch.follow(first._id, { update: deliver, end: finish });
  const heartbeat = setInterval(() => write(": heartbeat\n\n"), deps.heartbeatMs);
  // No stream lives forever (a request pending for days would hold its socket): EventSource reconnects.
  const lifetime = setTimeout(finish, deps.streamMaxMs ?? 600_000);
  // A client that goes away stops costing anything: no more reads, timers or writes for it.
  ctx.req.once("close", finish);
  body.once("error", finish);
  deliver(first);
}

function event(name: string, data: unknown, id?: string): string {
  return `event: ${name}\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/** A transition that happened while the client was away: the document only holds the current state. */
function replayedStatus(doc: RequestDocument, step: LifecycleStep): Record<string, unknown> {
  return {
    id: String(doc._id),
    report_name: doc.report_name,
    status: step.step === 1 ? RequestStatus.Running : RequestStatus.Pending,
    attempts: step.attempts,
    replayed: true,
  };
}

function progressKey(progress: RequestProgress): string {
  return `${progress.phase}|${progress.rows}|${progress.bytes ?? ""}|${String(progress.updated_at)}`;
}
