/**
 * GET /v1/reports/:id/csv: the CSV of a completed csv/both request. A local file is streamed
 * (never read whole); a GCS object is answered with a redirect to a freshly signed URL. The file is
 * found by its request's id and attempt in the configured store (results/locations.ts), never by
 * the location recorded in the document.
 */
import { isFinal, RequestStatus } from "../../requests/status.ts";
import type { RequestStore } from "../../requests/store.ts";
import { storedFileOf } from "../../results/locations.ts";
import { recordedSinkKind, type CsvSink } from "../../results/sinks/sink.ts";
import { CSV_CONTENT_TYPE } from "../../results/csv.ts";
import { callerVisibility } from "../access.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { idParameter, parseId, reportNotFound } from "../request-id.ts";
import { route, type RouteDeclaration } from "../route.ts";

export interface CsvRouteDeps {
  store: RequestStore;
  csvSink: CsvSink;
}

/** A filename safe inside a quoted Content-Disposition parameter. */
function downloadName(reportName: string, id: string): string {
  return `${reportName.replace(/[^A-Za-z0-9._-]/g, "_")}-${id}.csv`;
}

export function csvRoutes(deps: CsvRouteDeps): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/v1/reports/:id/csv",
      operationId: "getReportCsv",
      summary: "The CSV file of a completed csv/both request",
      description: "A local file is sent as text/csv; a GCS object is a 303 redirect to a freshly signed URL.",
      tags: ["reports"],
      access: "read",
      parameters: [idParameter],
      responses: {
        200: {
          description: "The CSV (RFC 4180, UTF-8, header row first)",
          content: { [CSV_CONTENT_TYPE.split(";")[0]]: { type: "string" } },
          headers: { "Content-Disposition": { description: '`attachment; filename="{report}-{id}.csv"`', schema: { type: "string" } } },
        },
        303: {
          description: "Redirect to a signed GCS URL",
          headers: { Location: { description: "the signed URL", schema: { type: "string" } } },
        },
      },
      problems: [
        PROBLEMS.invalidId,
        PROBLEMS.reportNotFound,
        PROBLEMS.noCsv,
        PROBLEMS.csvNotReady,
        PROBLEMS.csvElsewhere,
        PROBLEMS.csvNotDownloadable,
        PROBLEMS.csvGone,
      ],
      handler: async (ctx) => {
        const id = parseId(ctx.params.id);
        const doc = await deps.store.get(id, callerVisibility(ctx));
        if (!doc) throw reportNotFound(id);
        if (doc.status !== RequestStatus.Completed) {
          const final = isFinal(doc.status);
          throw new ProblemError(
            PROBLEMS.csvNotReady,
            final
              ? `the request ended ${doc.status}; there is no CSV`
              : `the request is ${doc.status}; the CSV is written when it completes`,
            {
              extensions: { status_of_request: doc.status, ...(doc.error ? { error: doc.error } : {}) },
              headers: final ? {} : { "Retry-After": "1" },
            },
          );
        }
        const recorded = doc.result?.csv;
        if (!recorded) {
          throw new ProblemError(
            PROBLEMS.noCsv,
            `the request asked for output ${JSON.stringify(doc.output ?? "json")}; submit it with "output": "csv" for a file`,
          );
        }
        const kind = recordedSinkKind(recorded);
        if (kind !== deps.csvSink.kind) {
          throw new ProblemError(
            PROBLEMS.csvElsewhere,
            `the CSV is in the ${kind} store and this server is configured for ${deps.csvSink.kind}`,
          );
        }
        // No file of ours can belong to a document whose id is not an ObjectId or whose attempt is not a number.
        const csv = storedFileOf(doc._id, doc.result?.attempt, "csv");
        if (!csv) throw new ProblemError(PROBLEMS.csvGone, "the request records no CSV file this service wrote");
        if (deps.csvSink.link) {
          const link = await deps.csvSink.link(csv);
          if (!/^https?:/.test(link.url)) {
            throw new ProblemError(
              PROBLEMS.csvNotDownloadable,
              `the CSV is at ${link.url}; without a signing key configured, read it with GCS credentials`,
              { extensions: { gcs_link: link.url } },
            );
          }
          ctx.status = 303;
          ctx.redirect(link.url);
          return;
        }
        const file = await deps.csvSink.read(csv);
        if (!file) throw new ProblemError(PROBLEMS.csvGone, "the CSV file has been removed (retention); run the report again");
        ctx.attachment(downloadName(doc.report_name, String(doc._id)));
        // After attachment(), which would set a charset-less type from the extension.
        ctx.type = CSV_CONTENT_TYPE;
        ctx.length = file.bytes;
        ctx.set("Cache-Control", "private, max-age=0");
        ctx.body = file.stream;
      },
    }),
  ];
}
