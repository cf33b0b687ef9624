/**
 * GET /v1/reports/:id/download?format=…: any stored file of a completed request (csv, ndjson,
 * xlsx, parquet), streamed through the API from whichever store holds it (never read whole), with
 * its content type and name, `Content-Length`, and its SHA-256 as recorded when it was written
 * (`Repr-Digest`, RFC 9530), so a client can check it received every byte. The file is found by
 * its request's id, attempt and format in the configured store (results/locations.ts), never by
 * the location recorded in the document.
 */
import type { Context } from "koa";
import type { RequestDocument, StoredFileRecord } from "../../requests/document.ts";
import { isFinal, RequestStatus } from "../../requests/status.ts";
import type { RequestStore } from "../../requests/store.ts";
import { FILE_FORMATS } from "../../results/formats/all.ts";
import { FORMATS, type FormatName } from "../../results/formats/format.ts";
import { storedFileOf } from "../../results/locations.ts";
import { recordedSinkKind, type CsvSink } from "../../results/sinks/sink.ts";
import { callerVisibility } from "../access.ts";
import { PROBLEMS, ProblemError } from "../problems.ts";
import { idParameter, parseId, reportNotFound } from "../request-id.ts";
import { route, type RouteDeclaration } from "../route.ts";

export interface DownloadRouteDeps {
  store: RequestStore;
  csvSink: CsvSink;
}

/** A filename safe inside a quoted Content-Disposition parameter. */
export function downloadName(reportName: string, id: string, extension: string): string {
  return `${reportName.replace(/[^A-Za-z0-9._-]/g, "_")}-${id}.${extension}`;
}

/** The files a completed request recorded, by format (a result from before `files` has its CSV only). */
export function recordedFiles(
  doc: RequestDocument,
): Partial<Record<FormatName, StoredFileRecord | NonNullable<NonNullable<RequestDocument["result"]>["csv"]>>> {
  const files: Partial<Record<FormatName, StoredFileRecord | NonNullable<NonNullable<RequestDocument["result"]>["csv"]>>> = {};
  if (doc.result?.csv) files.csv = doc.result.csv;
  for (const file of doc.result?.files ?? []) if (FORMATS.includes(file.format)) files[file.format] = file;
  return files;
}

/** The problems the two file routes answer with: /csv keeps its own CSV-worded ones. */
export interface FileProblems {
  notReady: typeof PROBLEMS.fileNotReady;
  none: typeof PROBLEMS.noFile | typeof PROBLEMS.noCsv;
  elsewhere: typeof PROBLEMS.fileElsewhere;
  gone: typeof PROBLEMS.fileGone;
}

const FILE_PROBLEMS: FileProblems = {
  notReady: PROBLEMS.fileNotReady,
  none: PROBLEMS.noFile,
  elsewhere: PROBLEMS.fileElsewhere,
  gone: PROBLEMS.fileGone,
};

/**
 * The request `ctx` names and its stored file of `format`, ready to be read from this process's
 * store; a problem when the request is not completed, stored no such file, or stored it elsewhere.
 */
export async function completedFile(deps: DownloadRouteDeps, ctx: Context, format: FormatName | undefined, problems = FILE_PROBLEMS) {
  const id = parseId(ctx.params.id);
  const doc = await deps.store.get(id, callerVisibility(ctx));
  if (!doc) throw reportNotFound(id);
  if (doc.status !== RequestStatus.Completed) {
    const final = isFinal(doc.status);
    throw new ProblemError(
      problems.notReady,
      final ? `the request ended ${doc.status}; there is no file` : `the request is ${doc.status}; its files are written when it completes`,
      {
        extensions: { status_of_request: doc.status, ...(doc.error ? { error: doc.error } : {}) },
        headers: final ? {} : { "Retry-After": "1" },
      },
    );
  }
  const files = recordedFiles(doc);
  const formats = Object.keys(files) as FormatName[];
  const chosen = format ?? formats[0];
  const recorded = chosen === undefined ? undefined : files[chosen];
  if (!chosen || !recorded) {
    throw new ProblemError(
      problems.none,
      formats.length === 0
        ? `the request asked for output ${JSON.stringify(doc.output ?? "json")}, which stores no file; submit it with an output such as "csv" or ["json", "xlsx"]`
        : `the request stored ${formats.join(", ")}, not ${chosen}`,
      problems.none === PROBLEMS.noFile ? { extensions: { formats } } : {},
    );
  }
  const kind = recordedSinkKind(recorded);
  if (kind !== deps.csvSink.kind) {
    throw new ProblemError(problems.elsewhere, `the file is in the ${kind} store and this server is configured for ${deps.csvSink.kind}`);
  }
  // No file of ours can belong to a document whose id is not an ObjectId or whose attempt is not a number.
  const file = storedFileOf(doc._id, doc.result?.attempt, FILE_FORMATS[chosen].extension);
  if (!file) throw new ProblemError(problems.gone, "the request records no file this service wrote");
  return { doc, format: FILE_FORMATS[chosen], recorded, file };
}

/** `Repr-Digest` (RFC 9530) for a hex SHA-256. */
export function reprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, "hex").toString("base64")}:`;
}

export function downloadRoutes(deps: DownloadRouteDeps): RouteDeclaration[] {
  return [
    route({
      method: "GET",
      path: "/v1/reports/:id/download",
      operationId: "downloadReportFile",
      summary: "A stored file of a completed request: csv, ndjson, xlsx or parquet",
      description:
        "Streamed from the store whichever it is, with Content-Length and the SHA-256 recorded when the file was written (Repr-Digest, RFC 9530). Without `format`, the request's first file.",
      tags: ["reports"],
      access: "read",
      parameters: [
        idParameter,
        {
          name: "format",
          in: "query",
          description: "which file (default: the first the request stored)",
          schema: { type: "string", enum: [...FORMATS] },
        },
      ],
      responses: {
        200: {
          description: "The file",
          content: Object.fromEntries(Object.values(FILE_FORMATS).map((f) => [f.contentType.split(";")[0], { type: "string" }])),
          headers: {
            "Content-Disposition": { description: '`attachment; filename="{report}-{id}.{extension}"`', schema: { type: "string" } },
            "Repr-Digest": { description: "sha-256=:<base64 of the file's SHA-256>: (RFC 9530)", schema: { type: "string" } },
          },
        },
      },
      problems: [
        PROBLEMS.invalidId,
        PROBLEMS.invalidQuery,
        PROBLEMS.reportNotFound,
        PROBLEMS.noFile,
        PROBLEMS.fileNotReady,
        PROBLEMS.fileElsewhere,
        PROBLEMS.fileGone,
      ],
      handler: async (ctx) => {
        const asked = ctx.query.format;
        if (asked !== undefined && (typeof asked !== "string" || !(FORMATS as readonly string[]).includes(asked))) {
          const message = `must be one of ${FORMATS.join(", ")}`;
          throw new ProblemError(PROBLEMS.invalidQuery, `format ${message}`, { extensions: { errors: [{ field: "format", message }] } });
        }
        const { doc, format, recorded, file } = await completedFile(deps, ctx, asked as FormatName | undefined);
        const stored = await deps.csvSink.read(file);
        if (!stored) throw new ProblemError(PROBLEMS.fileGone, "the file has been removed (retention); run the report again");
        ctx.attachment(downloadName(doc.report_name, String(doc._id), format.extension));
        // After attachment(), which would set a type (without charset) from the extension.
        ctx.type = format.contentType;
        ctx.length = stored.bytes;
        // A CSV recorded before files carried their digest has none to send.
        const sha256 = (recorded as { sha256?: unknown }).sha256;
        if (typeof sha256 === "string") ctx.set("Repr-Digest", reprDigest(sha256));
        ctx.set("Cache-Control", "private, max-age=0");
        ctx.body = stored.stream;
      },
    }),
  ];
}
