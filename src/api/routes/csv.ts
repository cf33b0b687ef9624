/**
 * GET /v1/reports/:id/csv: the CSV of a completed csv/both request. A local file is streamed
 * (never read whole); a GCS object is answered with a redirect to a freshly signed URL. The file is
 * found by its request's id and attempt in the configured store (results/locations.ts), never by
 * the location recorded in the document.
 */
import { CSV_CONTENT_TYPE } from "../../results/csv.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { idParameter } from "../request-id.ts";
import { route, type RouteDeclaration } from "../route.ts";
import { completedFile, downloadName, type DownloadRouteDeps, type FileProblems } from "./download.ts";

export type CsvRouteDeps = DownloadRouteDeps;

/** The CSV-worded problems this route has always answered with. */
const CSV_PROBLEMS: FileProblems = {
  notReady: PROBLEMS.csvNotReady,
  none: PROBLEMS.noCsv,
  elsewhere: PROBLEMS.csvElsewhere,
  gone: PROBLEMS.csvGone,
};

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
        const { doc, file: csv } = await completedFile(deps, ctx, "csv", CSV_PROBLEMS);
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
        ctx.attachment(downloadName(doc.report_name, String(doc._id), "csv"));
        // After attachment(), which would set a charset-less type from the extension.
        ctx.type = CSV_CONTENT_TYPE;
        ctx.length = file.bytes;
        ctx.set("Cache-Control", "private, max-age=0");
        ctx.body = file.stream;
      },
    }),
  ];
}
