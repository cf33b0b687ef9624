/**
 * What an integration may write into `report_requests`, and how the service treats a document
 * that carries more (docs/integrations.md, "What an integration may write").
 *
 * An integration inserts a pending request: `report_name`, `params`, `output`, `max_attempts`,
 * `report_date`, `not_before` and `status: "pending"` (fields of its own beside them are kept and
 * ignored). Everything else in the request document is the service's state, trusted only under the
 * service's seal (seal.ts). A document without a valid seal is read as an integration's:
 * - the API shows it only where access control is off or to admin keys (an owner it names is no one's);
 * - the fields below are hidden, and a final status it was inserted with reads as `error`
 *   (code `not_admitted`): the service never ran it;
 * - a worker that claims it refuses it (`validation`, naming the fields) when it carries any of
 *   them, and otherwise seals it as an ownerless request and runs it.
 */
import { ObjectId } from "mongodb";
import type { RequestDocument } from "./document.ts";
import { FINAL_STATUSES, RequestErrorCode, RequestStatus } from "./status.ts";

/** The fields an integration may set on a request it inserts (the rest of the document is the service's). */
export const INTEGRATION_FIELDS = ["report_name", "params", "output", "max_attempts", "report_date", "not_before", "status"] as const;

/**
 * Fields only the service writes, which an integration's document may not carry: who may see the
 * request, where its webhook goes, its result and error, its schedule, its reuse fingerprint, the
 * definition version it ran, when it finished, and the seal itself.
 */
export const SERVICE_FIELDS = [
  "owner",
  "callback",
  "result",
  "error",
  "schedule_id",
  "scheduled_for",
  "fingerprint",
  "definition_version",
  "finished_at",
  "seal",
] as const;

/** The service fields `doc` carries (a null counts as absent): the reason a worker refuses it. */
export function refusedFields(doc: object): string[] {
  const fields = doc as Record<string, unknown>;
  return SERVICE_FIELDS.filter((field) => fields[field] !== undefined && fields[field] !== null);
}

/** `{ field: "" }` for each service field but `kept` (the ones the same update sets): the `$unset` that removes what an integration wrote. */
export function unsetServiceFields(kept: readonly string[] = []): Record<string, ""> {
  return Object.fromEntries(SERVICE_FIELDS.filter((field) => field !== "seal" && !kept.includes(field)).map((field) => [field, ""]));
}

/**
 * How a document without a valid seal reads: without the service's fields, and `error` (code
 * `not_admitted`) when it claims a final status the service never gave it.
 */
export function asIntegrationDocument(doc: RequestDocument): RequestDocument {
  const view: Record<string, unknown> = { ...doc };
  for (const field of SERVICE_FIELDS) delete view[field];
  const admitted = view as unknown as RequestDocument;
  if (!(doc._id instanceof ObjectId)) {
    return {
      ...admitted,
      status: RequestStatus.Error,
      error: { code: RequestErrorCode.NotAdmitted, message: "a request's _id is an ObjectId; this document is not a request" },
    };
  }
  if (FINAL_STATUSES.includes(doc.status)) {
    return {
      ...admitted,
      status: RequestStatus.Error,
      error: {
        code: RequestErrorCode.NotAdmitted,
        message: `the document was inserted already ${String(doc.status)}; integrations insert pending requests only`,
      },
    };
  }
  return admitted;
}
