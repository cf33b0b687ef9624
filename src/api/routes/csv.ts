/**
 * GET /v1/reports/:id/csv: the CSV of a completed csv/both request. A local file is streamed
 * (never read whole); a GCS object is answered with a redirect to a freshly signed URL.
 */
import Router from "@koa/router";
import { ObjectId } from "mongodb";
import { FINAL_STATUSES } from "../../requests/document.ts";
import type { RequestStore } from "../../requests/store.ts";
import type { CsvSink, StoredCsv } from "../../results/sinks/sink.ts";
import { CSV_CONTENT_TYPE } from "../../results/csv.ts";
import { ProblemError } from "../problem.ts";

export interface CsvRouteDeps {
  store: RequestStore;
  csvSink: CsvSink;
}

function parseId(raw: string): ObjectId {
  if (!/^[0-9a-f]{24}$/i.test(raw)) {
    throw new ProblemError(400, "invalid-id", "Invalid report id", `${JSON.stringify(raw)} is not a report id (24 hexadecimal characters)`);
  }
  return new ObjectId(raw);
}

/** A filename safe inside a quoted Content-Disposition parameter. */
function downloadName(reportName: string, id: string): string {
  return `${reportName.replace(/[^A-Za-z0-9._-]/g, "_")}-${id}.csv`;
}

export function csvRoutes(deps: CsvRouteDeps): Router {
  const router = new Router();

  router.get("/v1/reports/:id/csv", async (ctx) => {
    const id = parseId(ctx.params.id);
    const owner = (ctx.state.owner as string | undefined) ?? null;
    const doc = await deps.store.get(id, { owner });
    if (!doc) throw new ProblemError(404, "report-not-found", "Report not found", `no report request with id ${String(id)}`);
    if (doc.status !== "completed") {
      const final = FINAL_STATUSES.includes(doc.status);
      throw new ProblemError(
        409,
        "csv-not-ready",
        "CSV not available",
        final ? `the request ended ${doc.status}; there is no CSV` : `the request is ${doc.status}; the CSV is written when it completes`,
        { status_of_request: doc.status, ...(doc.error ? { error: doc.error } : {}) },
        final ? {} : { "Retry-After": "1" },
      );
    }
    const csv = doc.result?.csv as StoredCsv | undefined;
    if (!csv) {
      throw new ProblemError(
        404,
        "no-csv",
        "No CSV for this report",
        `the request asked for output ${JSON.stringify(doc.output ?? "json")}; submit it with "output": "csv" for a file`,
      );
    }
    const sinkKind = csv.sink ?? (csv.bucket ? "gcs" : "local");
    if (sinkKind !== deps.csvSink.kind) {
      throw new ProblemError(
        409,
        "csv-elsewhere",
        "CSV stored elsewhere",
        `the CSV is in the ${sinkKind} store and this server is configured for ${deps.csvSink.kind}`,
      );
    }
    if (deps.csvSink.link) {
      const link = await deps.csvSink.link(csv);
      if (!/^https?:/.test(link.url)) {
        throw new ProblemError(
          409,
          "csv-not-downloadable",
          "CSV has no download link",
          `the CSV is at ${link.url}; without a signing key configured, read it with GCS credentials`,
          {
            gcs_link: link.url,
          },
        );
      }
      ctx.status = 303;
      ctx.redirect(link.url);
      return;
    }
    const file = await deps.csvSink.read?.(csv);
    if (!file)
      throw new ProblemError(410, "csv-gone", "CSV no longer available", "the CSV file has been removed (retention); run the report again");
    ctx.attachment(downloadName(doc.report_name, String(doc._id)));
    // After attachment(), which would set a charset-less type from the extension.
    ctx.type = CSV_CONTENT_TYPE;
    ctx.length = file.bytes;
    ctx.set("Cache-Control", "private, max-age=0");
    ctx.body = file.stream;
  });

  return router;
}
