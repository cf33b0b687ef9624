/**
 * The job store: the one module that writes `report_requests`.
 *
 * Every write a worker makes after its claim is fenced on (_id, lease owner, attempt number), so a
 * worker that lost its lease (paused, partitioned, presumed dead) can no longer change a request
 * that a newer attempt now owns: its write simply matches nothing.
 *
 * Claims, lease renewals and every status an attempt writes ask for `w: "majority"` explicitly,
 * not by the deployment's default (which an operator may lower, and which is w:1 with an arbiter):
 * a claim or a final status acknowledged by the primary alone can be rolled back by a failover,
 * and a worker would then run a request another worker also runs, or a client would have read a
 * status that no longer exists.
 */
import { MongoBulkWriteError, MongoServerError, ObjectId, type Collection, type Filter } from "mongodb";
import type { OutputKind, ReportResult, RequestDocument, RequestError, RequestProgress } from "./document.ts";
import { FINAL_STATUSES, RequestErrorCode, RequestStatus } from "./status.ts";
import { asIntegrationDocument, unsetServiceFields } from "./admission.ts";
import { fingerprint } from "./fingerprint.ts";
import type { RequestSeal } from "./seal.ts";

/**
 * Server codes that mean "this document's fields do not allow the update" rather than anything
 * about the deployment: BadValue, TypeMismatch, PathNotViable.
 */
const DOCUMENT_ERROR_CODES: ReadonlySet<number> = new Set([2, 14, 28]);

function isDocumentError(error: unknown): boolean {
  return error instanceof MongoServerError && DOCUMENT_ERROR_CODES.has(Number(error.code));
}

/** Bounds the documents one claim sets aside, so a server that refuses every update is still reported. */
const MAX_SET_ASIDE_PER_CLAIM = 10;

/** What a worker holds after a successful claim: enough to fence every later write. */
export interface Claim {
  id: RequestDocument["_id"];
  owner: string;
  attempt: number;
}

/** What one batch claim took (claimPendingBatch), and whether the due pending requests ran out. */
export interface ClaimedBatch {
  requests: RequestDocument[];
  /**
   * The claim read fewer due pending requests than it asked for: nothing more was claimable when it
   * ran. False when it read a full batch, even if other workers took some of it first (their claims
   * came between its read and its write): more may be waiting behind those.
   */
  exhausted: boolean;
}

/**
 * What a run records on its request once the report is known: defaults a Mongo-native document
 * lacked, the data-defined report's version and where the report read. It travels in the run's
 * final fenced write (complete, fail, retryLater) rather than in a write of its own before the
 * report runs: one round trip less per job.
 */
export type RunRecord = Partial<Pick<RequestDocument, "report_date" | "output" | "params" | "definition_version" | "read">>;

export interface NewRequest {
  report_name: string;
  params: Record<string, unknown>;
  output: OutputKind;
  max_attempts?: number;
  owner?: string | null;
  /** Checked already (webhooks/callback-url.ts): POSTed the final status. */
  callback_url?: string;
  /** Set when a schedule fires the request (see schedules/firer.ts). */
  schedule_id?: ObjectId;
  scheduled_for?: Date;
  /** The schedule tick's identity (schedules/tick-key.ts), unique among requests. */
  tick_key?: string;
}

/** One page of the history: filters, and the id of the last request of the previous page. */
export interface HistoryQuery {
  report_name?: string;
  status?: RequestStatus;
  /** Only requests older than this one (its `_id`), so pages stay stable while new ones arrive. */
  after?: ObjectId;
  limit: number;
}

/** Who may see a request: everyone (access control off) or one API key's owner. */
export type Visibility = { owner?: string | null };

/** The write concern of every queue write that another process acts on (see above). */
export const QUEUE_WRITE_CONCERN = { w: "majority" } as const;
const majority = { writeConcern: QUEUE_WRITE_CONCERN };

function visibleTo(visibility: Visibility): Filter<RequestDocument> {
  return visibility.owner ? { owner: visibility.owner } : {};
}

/**
 * Pending requests a worker may claim at `now`: `not_before` absent, null or past (`$not: {$gt}`
 * matches all three, and its index bounds are [MinKey, now] on `pending_due`). The claim and the
 * queue-depth count (metrics, autoscaling) share this one definition of "due".
 */
export function duePending(now: Date): Filter<RequestDocument> {
  return { status: RequestStatus.Pending, not_before: { $not: { $gt: now } } };
}

/** The claim order, which is `pending_due`'s key order (so the index yields it). */
export const PENDING_CLAIM_ORDER = { not_before: 1, report_date: 1, _id: 1 } as const;

export class RequestStore {
  /** `seal` vouches for the requests the service accepted (seal.ts); documents without it read as an integration's (admission.ts). */
  constructor(
    private readonly requests: Collection<RequestDocument>,
    readonly seal: RequestSeal,
  ) {}

  /**
   * `doc` as a reader may trust it: as stored under a valid seal; else as an integration's document
   * (admission.ts), and then only to a reader who sees every request (an unsealed owner is no one's).
   */
  private readable(doc: RequestDocument | null, visibility: Visibility): RequestDocument | null {
    if (!doc || this.seal.verify(doc)) return doc;
    return visibility.owner ? null : asIntegrationDocument(doc);
  }

  /**
   * How many of `owner`'s requests are pending or running, from every source (API, schedules):
   * what MAX_QUEUED_PER_OWNER caps. Served by `history_by_owner_status`.
   */
  countQueued(owner: string): Promise<number> {
    return this.requests.countDocuments({ owner, status: { $in: [RequestStatus.Pending, RequestStatus.Running] } });
  }

  async submit(request: NewRequest, now = new Date(), id = new ObjectId()): Promise<RequestDocument> {
    const doc: RequestDocument = {
      _id: id,
      report_name: request.report_name,
      params: request.params,
      output: request.output,
      status: RequestStatus.Pending,
      report_date: now,
      // Claim order is by the time a request became claimable: now, for a new one.
      not_before: now,
      attempts: 0,
      ...(request.max_attempts === undefined ? {} : { max_attempts: request.max_attempts }),
      lease: null,
      fingerprint: fingerprint(request),
      ...(request.owner ? { owner: request.owner } : {}),
      ...(request.callback_url
        ? {
            callback: {
              url: request.callback_url,
              webhook_id: `msg_${id.toHexString()}`,
              state: "pending" as const,
              attempts: 0,
              next_at: now,
            },
          }
        : {}),
      ...(request.schedule_id ? { schedule_id: request.schedule_id, scheduled_for: request.scheduled_for } : {}),
      ...(request.tick_key ? { tick_key: request.tick_key } : {}),
    };
    doc.seal = this.seal.sign(doc);
    // Majority-acknowledged: a change stream delivers the insert only once the majority commit
    // point passes it, so this is also when the workers can hear of it (and a client that got its
    // 202 can never see the request vanish in a failover).
    await this.requests.insertOne(doc, majority);
    return doc;
  }

  /** The id of the request a schedule tick created (index `schedule_tick`). */
  async idOfTick(tickKey: string): Promise<RequestDocument["_id"] | null> {
    return (await this.requests.findOne({ tick_key: tickKey }, { projection: { _id: 1 } }))?._id ?? null;
  }

  async get(id: RequestDocument["_id"], visibility: Visibility = {}): Promise<RequestDocument | null> {
    return this.readable(await this.requests.findOne({ _id: id, ...visibleTo(visibility) }), visibility);
  }

  /**
   * Requests newest first (by `_id`, which grows with the insert time and is unique, so a cursor
   * on it never skips or repeats a request). Asks for one more than `limit` to tell whether
   * another page exists without counting.
   */
  async history(
    query: HistoryQuery,
    visibility: Visibility = {},
  ): Promise<{ requests: RequestDocument[]; more: boolean; last?: RequestDocument["_id"] }> {
    const filter: Filter<RequestDocument> = {
      ...visibleTo(visibility),
      ...(query.report_name === undefined ? {} : { report_name: query.report_name }),
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.after === undefined ? {} : { _id: { $lt: query.after } }),
    };
    const docs = await this.requests
      .find(filter, { sort: { _id: -1 }, limit: query.limit + 1, projection: { lease: 0, fingerprint: 0, "result.rows": 0 } })
      .toArray();
    // A page may come back short when it held documents this reader may not trust: `last` (the
    // page's last document read) is where the next page starts all the same.
    const page = docs.slice(0, query.limit);
    const requests = page.map((doc) => this.readable(doc, visibility)).filter((doc): doc is RequestDocument => doc !== null);
    return { requests, more: docs.length > query.limit, last: page.at(-1)?._id };
  }

  /** The current status of each of `ids` that still exists (schedules show their runs' statuses). */
  async statuses(ids: RequestDocument["_id"][]): Promise<Map<string, RequestDocument["status"]>> {
    if (ids.length === 0) return new Map();
    const docs = await this.requests.find({ _id: { $in: ids } }, { projection: { status: 1 } }).toArray();
    return new Map(docs.map((d) => [String(d._id), d.status]));
  }

  /**
   * The newest completed request for the same report, output and params, finished since `since`;
   * only one the service sealed (an integration's document may carry any fingerprint and result).
   */
  async findReusable(request: NewRequest, since: Date): Promise<RequestDocument | null> {
    const doc = await this.requests.findOne(
      {
        fingerprint: fingerprint(request),
        status: RequestStatus.Completed,
        finished_at: { $gte: since },
        ...visibleTo({ owner: request.owner }),
      },
      { sort: { finished_at: -1 } },
    );
    return doc && this.seal.verify(doc) ? doc : null;
  }

  /**
   * Cancels a request that has not finished. A plain update (not findOneAndUpdate) so that every
   * MongoDB deployment emits the change event the running worker listens for.
   */
  async cancel(id: RequestDocument["_id"], visibility: Visibility = {}, now = new Date()): Promise<RequestDocument | null> {
    const doc = await this.get(id, visibility);
    if (!doc) return null;
    // An integration's document not yet admitted by a worker is admitted as it is cancelled, so it
    // reads as cancelled (not as a document inserted already final).
    const admit: { $set?: { seal: string }; $unset?: Record<string, ""> } = this.seal.verify(doc)
      ? {}
      : this.admission(doc, ["finished_at"]);
    await this.requests.updateOne(
      { _id: id, status: { $in: [RequestStatus.Pending, RequestStatus.Running] }, ...visibleTo(visibility) },
      {
        $set: { status: RequestStatus.Cancelled, lease: null, finished_at: now, ...admit.$set },
        ...(admit.$unset ? { $unset: admit.$unset } : {}),
      },
      majority,
    );
    return this.get(id, visibility);
  }

  /** The update that admits an integration's document: its service fields removed, sealed as an ownerless request. */
  private admission(
    doc: Pick<RequestDocument, "_id">,
    kept: readonly string[] = [],
  ): { $set?: { seal: string }; $unset: Record<string, ""> } {
    const seal = this.seal.sign({ _id: doc._id });
    return { ...(seal ? { $set: { seal } } : {}), $unset: unsetServiceFields(kept) };
  }

  /**
   * Admits an integration's document a worker has claimed (fenced on the claim): removes the
   * service fields it carried and seals it as ownerless. The caller refuses it when it carried any.
   */
  async admit(claim: Claim): Promise<boolean> {
    const { $set, $unset } = this.admission({ _id: claim.id });
    const { matchedCount } = await this.requests.updateOne(this.fence(claim), { ...($set ? { $set } : {}), $unset }, majority);
    return matchedCount === 1;
  }

  /**
   * Finished requests older than `before`, oldest first, for the retention sweeper: each id with
   * its CSV file's record (projected, so the sweeper needs no read per request). A request whose
   * webhook is still to be delivered stays until the delivery ends: the dispatcher reads it to
   * build the call, and the receiver may fetch its result.
   */
  expired(before: Date, limit: number): Promise<Pick<RequestDocument, "_id" | "result">[]> {
    return this.requests
      .find(
        { status: { $in: [...FINAL_STATUSES] }, finished_at: { $lt: before }, "callback.state": { $ne: "pending" } },
        {
          projection: {
            _id: 1,
            "result.attempt": 1,
            "result.csv.sink": 1,
            "result.csv.bucket": 1,
            "result.files.format": 1,
            "result.files.sink": 1,
            "result.files.bucket": 1,
          },
          sort: { finished_at: 1 },
          limit,
        },
      )
      .toArray();
  }

  async delete(ids: RequestDocument["_id"][]): Promise<number> {
    if (ids.length === 0) return 0;
    const { deletedCount } = await this.requests.deleteMany({ _id: { $in: ids } });
    return deletedCount;
  }

  /**
   * Atomically takes a request whose lease expired (its worker died, so it has waited longest);
   * the worker asks for these before the oldest due pending ones (claimPendingBatch). Each write
   * is the lock; change events only wake workers up to try it. Two queries rather than one `$or`:
   * an `$or` is sorted from indexes only when every branch's index yields the whole sort, so the
   * combined claim would sort the whole backlog in memory (see src/requests/README.md).
   *
   * Index `running_leases {lease.until}`, partial on status "running": a range in index order over running requests only.
   */
  claimExpired(owner: string, leaseMs: number, now = new Date()): Promise<RequestDocument | null> {
    return this.claimSettingAside(
      { status: RequestStatus.Running, "lease.until": { $lt: now } },
      { "lease.until": 1 },
      owner,
      leaseMs,
      now,
    );
  }

  /**
   * Index `pending_due {not_before, report_date, _id}`, partial on status "pending": the scan's
   * bounds are `not_before` up to now, so a retry waiting out its backoff is not even a key the
   * claim looks at until it is due (after an outage a backlog of them would otherwise be fetched
   * and rejected by every claim), and the index order is the claim order: by when a request became
   * claimable, then by submission. A Mongo-native insert without `not_before` counts as due since
   * it was inserted (null sorts first, so such requests are claimed first, by `report_date`).
   */
  claimPending(owner: string, leaseMs: number, now = new Date()): Promise<RequestDocument | null> {
    return this.claimSettingAside(duePending(now), PENDING_CLAIM_ORDER, owner, leaseMs, now);
  }

  /**
   * One claim (findOneAndUpdate on `filter` in `sort` order) that no document can stop. A document
   * an integration inserted with fields the claim cannot update (`attempts: "x"`: the server
   * refuses the `$inc` with TypeMismatch) would otherwise be first in line for every claim of
   * every worker, forever. When the server refuses the claim's update for such a reason, the
   * document the claim would take is set aside (ended as `error`, code `invalid_document`, with the
   * server's reason) and the claim tried again.
   */
  private async claimSettingAside(
    filter: Filter<RequestDocument>,
    sort: Readonly<Record<string, 1>>,
    owner: string,
    leaseMs: number,
    now: Date,
  ): Promise<RequestDocument | null> {
    const take = this.takeOver(owner, leaseMs, now);
    for (let setAside = 0; ; setAside++) {
      try {
        return await this.requests.findOneAndUpdate(filter, take, { sort, returnDocument: "after", ...majority });
      } catch (error) {
        if (!isDocumentError(error) || setAside >= MAX_SET_ASIDE_PER_CLAIM) throw error;
      }
      // Which document refused? The first in line, unless another worker took it meanwhile: try
      // the same update on that one document alone, and set it aside only if it refuses too.
      const first = await this.requests.findOne(filter, { sort, projection: { _id: 1, status: 1 } });
      if (!first) return null;
      try {
        const claimed = await this.requests.findOneAndUpdate({ ...filter, _id: first._id }, take, { returnDocument: "after", ...majority });
        if (claimed) return claimed;
      } catch (error) {
        if (!isDocumentError(error)) throw error;
        await this.setAside(first, `the document cannot be claimed: ${(error as Error).message}`, now);
      }
    }
  }

  /** Ends a document the service cannot process as `error` (code invalid_document), whatever its other fields hold. */
  async setAside(doc: Pick<RequestDocument, "_id" | "status">, message: string, now = new Date()): Promise<boolean> {
    // Admitted as it is set aside (an unsealed error would read as inserted already final).
    const { $set: seal, $unset } = this.admission(doc, ["error", "finished_at"]);
    const { matchedCount } = await this.requests.updateOne(
      { _id: doc._id, status: doc.status },
      {
        $unset,
        $set: {
          status: RequestStatus.Error,
          error: { code: RequestErrorCode.InvalidDocument, message },
          lease: null,
          finished_at: now,
          ...seal,
        },
      },
      majority,
    );
    return matchedCount === 1;
  }

  /**
   * Claims up to `limit` due pending requests, oldest first, in two round trips however many it
   * takes (one when `limit` is 1: the single findOneAndUpdate above). First the candidates, read
   * through the same index and order as `claimPending`; then one unordered bulk write with one
   * update per candidate, each applying only while the candidate is still pending, due and at the
   * attempt count that was read, so a candidate another worker took (or cancelled) in between is
   * simply not claimed. When every update applied, the claimed documents are the candidates with
   * the claim's changes, computed here; when some did not, the ones this call holds are read back
   * by the claim's token (a third round trip, only under contention). The answer says whether the
   * candidates ran short (`exhausted`): a batch that lost candidates to other workers is short of
   * what it asked for while more requests wait, and must not be read as an empty queue.
   */
  async claimPendingBatch(owner: string, leaseMs: number, limit: number, now = new Date()): Promise<ClaimedBatch> {
    if (limit <= 1) {
      const one = await this.claimPending(owner, leaseMs, now);
      return one ? { requests: [one], exhausted: false } : { requests: [], exhausted: true };
    }
    const candidates = await this.requests.find(duePending(now), { sort: PENDING_CLAIM_ORDER, limit }).toArray();
    const exhausted = candidates.length < limit;
    return { requests: await this.takeCandidates(candidates, owner, leaseMs, now), exhausted };
  }

  /** The batch claim's write (see claimPendingBatch): takes each candidate still pending, returns those taken. */
  private async takeCandidates(candidates: RequestDocument[], owner: string, leaseMs: number, now: Date): Promise<RequestDocument[]> {
    if (candidates.length === 0) return [];
    const token = new ObjectId();
    const takeOver = this.takeOver(owner, leaseMs, now, token);
    let modifiedCount: number;
    try {
      ({ modifiedCount } = await this.requests.bulkWrite(
        candidates.map((doc) => ({
          // attempts: null matches a Mongo-native document without the field, as $inc then counts from 0.
          updateOne: { filter: { _id: doc._id, ...duePending(now), attempts: doc.attempts ?? null }, update: takeOver },
        })),
        { ordered: false, ...majority },
      ));
    } catch (error) {
      // Some updates were refused, the others applied (found out below). A document the server
      // refuses to claim (see claimSettingAside) is set aside, or it would head every batch.
      if (!(error instanceof MongoBulkWriteError)) throw error;
      for (const refused of [error.writeErrors].flat()) {
        if (!DOCUMENT_ERROR_CODES.has(Number(refused.code))) continue;
        await this.setAside(candidates[refused.index], `the document cannot be claimed: ${refused.errmsg}`, now);
      }
      modifiedCount = -1;
    }
    if (modifiedCount === candidates.length) {
      return candidates.map((doc) => ({ ...doc, ...takeOver.$set, attempts: (doc.attempts ?? 0) + 1 }));
    }
    if (modifiedCount === 0) return [];
    return this.requests
      .find({ _id: { $in: candidates.map((doc) => doc._id) }, "lease.token": token }, { sort: PENDING_CLAIM_ORDER })
      .toArray();
  }

  /** `token` marks the documents of one batch claim, so they can be read back (see claimPendingBatch). */
  private takeOver(owner: string, leaseMs: number, now: Date, token?: ObjectId) {
    return {
      // progress: null so a retaken job does not show the last attempt's rows.
      $set: {
        status: RequestStatus.Running,
        lease: { owner, until: new Date(now.getTime() + leaseMs), ...(token ? { token } : {}) },
        started_at: now,
        progress: null,
      },
      $inc: { attempts: 1 },
    };
  }

  private fence(claim: Claim): Filter<RequestDocument> {
    return { _id: claim.id, status: RequestStatus.Running, "lease.owner": claim.owner, attempts: claim.attempt };
  }

  /**
   * Extends the lease, and records the job's progress in the same write; false means the lease
   * was lost (expired and retaken, or cancelled). `signal` abandons a renewal that is taking too
   * long: the driver then closes its connection, so the next renewal goes out on another one
   * rather than queueing behind it. That is why this is an `update` command (in driver 7 only
   * commands and reads take a signal), and why the lease moves by `$max`: a renewal the server
   * still applies after a later one cannot shorten the lease. `serverLimitMs` bounds the renewal on
   * the server (`maxTimeMS`, and `wtimeout` for the majority wait), so a struggling primary answers
   * with an error on the same connection before the signal has to close it: closing connections
   * is left to a last resort, and a slow primary does not turn into every job reconnecting at once.
   */
  async renew(
    claim: Claim,
    leaseMs: number,
    now = new Date(),
    progress?: RequestProgress,
    signal?: AbortSignal,
    serverLimitMs?: number,
  ): Promise<boolean> {
    const update = { $max: { "lease.until": new Date(now.getTime() + leaseMs) }, ...(progress ? { $set: { progress } } : {}) };
    // An unmet write concern (the reply's `writeConcernError` beside ok: 1) throws a
    // MongoWriteConcernError from the driver (7.9 checks every command's reply, db.command's too):
    // the renewal may not survive a failover, so the keeper counts it as failed, not as held.
    // Write errors are not thrown for a raw command: they come back in the reply.
    const reply = await this.requests.db.command(
      {
        update: this.requests.collectionName,
        updates: [{ q: this.fence(claim), u: update }],
        writeConcern: serverLimitMs === undefined ? QUEUE_WRITE_CONCERN : { ...QUEUE_WRITE_CONCERN, wtimeout: serverLimitMs },
        ...(serverLimitMs === undefined ? {} : { maxTimeMS: serverLimitMs }),
      },
      { signal },
    );
    if (Array.isArray(reply.writeErrors) && reply.writeErrors.length > 0) {
      throw new Error(`renewing the lease of ${String(claim.id)} failed: ${JSON.stringify(reply.writeErrors[0])}`);
    }
    return reply.n === 1;
  }

  /** Fills fields a Mongo-native document may lack, so status responses are complete. */
  async fillDefaults(claim: Claim, defaults: RunRecord): Promise<void> {
    if (Object.keys(defaults).length === 0) return;
    await this.requests.updateOne(this.fence(claim), { $set: defaults }, majority);
  }

  /** `record`: what the run recorded (RunRecord), set in the same fenced write. */
  async complete(claim: Claim, result: ReportResult, now = new Date(), record: RunRecord = {}): Promise<boolean> {
    const { matchedCount } = await this.requests.updateOne(
      this.fence(claim),
      {
        $set: { ...record, status: RequestStatus.Completed, result, error: null, lease: null, finished_at: now },
      },
      majority,
    );
    return matchedCount === 1;
  }

  /**
   * Completes several claims in one round trip: one unordered bulk write of the same fenced
   * updates as `complete`. Returns, for each, whether it applied. A bulk write reports only how many
   * matched, so when some did not (a lease lost meanwhile), which ones applied is read back: those
   * now completed by this attempt at this `now`.
   */
  async completeMany(items: { claim: Claim; result: ReportResult; record?: RunRecord }[], now = new Date()): Promise<boolean[]> {
    if (items.length === 0) return [];
    const { matchedCount } = await this.requests.bulkWrite(
      items.map(({ claim, result, record }) => ({
        updateOne: {
          filter: this.fence(claim),
          update: { $set: { ...record, status: RequestStatus.Completed, result, error: null, lease: null, finished_at: now } },
        },
      })),
      { ordered: false, ...majority },
    );
    if (matchedCount === items.length) return items.map(() => true);
    const docs = await this.requests
      .find({ _id: { $in: items.map((i) => i.claim.id) } }, { projection: { status: 1, "result.attempt": 1, finished_at: 1 } })
      .toArray();
    const byId = new Map(docs.map((d) => [String(d._id), d]));
    return items.map(({ claim }) => {
      const doc = byId.get(String(claim.id));
      return (
        doc?.status === RequestStatus.Completed && doc.result?.attempt === claim.attempt && doc.finished_at?.getTime() === now.getTime()
      );
    });
  }

  async fail(claim: Claim, error: RequestError, now = new Date(), record: RunRecord = {}): Promise<boolean> {
    const { matchedCount } = await this.requests.updateOne(
      this.fence(claim),
      {
        $set: { ...record, status: RequestStatus.Error, error, lease: null, finished_at: now },
      },
      majority,
    );
    return matchedCount === 1;
  }

  /** Puts a failed attempt back in the queue, not to be claimed before `notBefore`. */
  async retryLater(claim: Claim, error: RequestError, notBefore: Date, record: RunRecord = {}): Promise<boolean> {
    const { matchedCount } = await this.requests.updateOne(
      this.fence(claim),
      {
        $set: { ...record, status: RequestStatus.Pending, error, lease: null, not_before: notBefore },
      },
      majority,
    );
    return matchedCount === 1;
  }

  /**
   * Gives a job back on graceful shutdown without spending an attempt, so a rolling deploy does
   * not push requests toward max_attempts.
   */
  async release(claim: Claim): Promise<boolean> {
    const { matchedCount } = await this.requests.updateOne(
      this.fence(claim),
      {
        $set: { status: RequestStatus.Pending, lease: null },
        $inc: { attempts: -1 },
      },
      majority,
    );
    return matchedCount === 1;
  }
}
