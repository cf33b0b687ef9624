/**
 * One request: its status live (a long poll with `wait=`: the server answers as soon as the status
 * changes), timings, the error when it failed, cancel while pending or running; once completed,
 * the rows a page at a time, a chart, and the CSV download.
 */
import { useEffect, useState } from "preact/hooks";
import {
  ApiError,
  authHeaders,
  cancelRequest,
  followEvents,
  getJson,
  pauseAsAsked,
  postJson,
  send,
  type RequestView,
  type StoredFileView,
} from "./api.ts";
import { ChartPanel } from "./chart-panel.tsx";
import { useAuthVersion } from "./hooks.ts";
import { ResultsTable } from "./results-table.tsx";
import { describeParams } from "./cells.ts";
import { elapsedLine, usualDurationMs } from "./timing.ts";
import { duration, Failure, StatusBadge, Time } from "./widgets.tsx";
import { isFinal, RequestStatus } from "../requests/status.ts";

const WAIT_SECONDS = 20;

/** How many past completed runs of the report "usually" is taken from. */
const USUAL_RUNS = 20;

/**
 * Elapsed time while a request is pending or running, ticking each second, beside the report's usual
 * duration (the median of its last completed runs). Outside the live status region: a clock read
 * aloud every second would drown what matters.
 */
function ElapsedClock({ view }: { view: RequestView }) {
  const [now, setNow] = useState(Date.now());
  const [usual, setUsual] = useState<number | null>(null);
  const active = !isFinal(view.status);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  useEffect(() => {
    if (!active) return;
    const controller = new AbortController();
    const query = new URLSearchParams({ report_name: view.report_name, status: RequestStatus.Completed, limit: String(USUAL_RUNS) });
    getJson<{ items: RequestView[] }>(`/v1/reports?${query}`, controller.signal).then(
      (page) => controller.signal.aborted || setUsual(usualDurationMs(page.items.map((item) => item.duration_ms))),
      () => undefined, // the clock works without it
    );
    return () => controller.abort();
  }, [view.report_name, active]);
  const line = elapsedLine(
    view.status,
    view.status === RequestStatus.Running ? (view.started_at ?? view.report_date) : view.report_date,
    now,
    usual,
  );
  return line ? <p class="muted elapsed">{line}</p> : null;
}

export function RequestViewPage({ id }: { id: string }) {
  const version = useAuthVersion();
  const [page, setPage] = useState(0);
  const [pageSize, setPageSize] = useState(10);
  /** The latest status (from events, a poll, or the cancel answer). */
  const [view, setView] = useState<RequestView | null>(null);
  /** The completed request with the page of rows on screen. */
  const [rows, setRows] = useState<RequestView | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [cancelling, setCancelling] = useState(false);

  // Watch: the server pushes each transition (events); if the stream is unavailable or ends early,
  // long polls with wait= carry on. Either way the page never reloads.
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const latest: { current: RequestView | null } = { current: null };
    const show = (next: RequestView) => {
      latest.current = next;
      setView(next);
      setFailure(null);
    };
    // Never rejects: every failure inside is caught and shown (or ends the loop).
    void (async () => {
      for (let retryMs = 500; !signal.aborted;) {
        try {
          show(await getJson<RequestView>(`/v1/reports/${id}`, signal));
          if (isFinal(latest.current!.status)) return;
          await followEvents(id, signal, (event, data) => {
            if (event === "status") show(data as RequestView);
            else if (event === "progress" && latest.current) show({ ...latest.current, progress: data as RequestView["progress"] });
          }).catch((error: Error) => {
            if (!(error instanceof ApiError) || error.problem.status === 0) throw error;
          });
          while (!signal.aborted && latest.current && !isFinal(latest.current.status)) {
            const answer = await send(`/v1/reports/${id}?wait=${WAIT_SECONDS}`, { signal });
            show((await answer.json()) as RequestView);
            // Answered without waiting (this key holds as many long polls as the service allows):
            // pause as Retry-After says instead of asking again at once.
            if (!answer.headers.has("Preference-Applied")) await pauseAsAsked(answer, signal);
          }
          return;
        } catch (error) {
          if (signal.aborted) return;
          setFailure(error as Error);
          // Only a lost connection or an unavailable service is worth retrying.
          if (error instanceof ApiError && error.problem.status !== 0 && error.problem.status !== 503) return;
          await new Promise((resolve) => setTimeout(resolve, retryMs));
          retryMs = Math.min(retryMs * 2, 5000);
        }
      }
    })();
    return () => controller.abort();
  }, [id, version]);

  // Read: the page of rows on screen, once completed.
  const completed = view?.status === RequestStatus.Completed;
  useEffect(() => {
    if (!completed) return;
    const controller = new AbortController();
    getJson<RequestView>(`/v1/reports/${id}?page=${page}&page_size=${pageSize}`, controller.signal).then(
      (next) => controller.signal.aborted || setRows(next),
      (error: Error) => controller.signal.aborted || setFailure(error),
    );
    return () => controller.abort();
  }, [id, page, pageSize, completed, version]);

  useEffect(() => {
    document.title = `${view?.report_name ?? "Request"} ${view?.status ?? ""} · mongo-reports`;
  }, [view?.report_name, view?.status]);

  const cancel = async () => {
    setCancelling(true);
    try {
      setView({ ...(await cancelRequest(id)) });
    } catch (error) {
      setFailure(error as Error);
    } finally {
      setCancelling(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>{view ? view.report_name : "Request"}</h1>
      {failure ? <Failure error={failure} /> : null}
      {!view && !failure ? <p aria-busy="true">Loading…</p> : null}
      {view ? (
        <>
          <section aria-labelledby="status-title" class="status-panel">
            <h2 id="status-title" class="visually-hidden">
              Status
            </h2>
            <p class="status-line" role="status" aria-live="polite">
              Status: <StatusBadge status={view.status} />
              {!isFinal(view.status) ? <span class="muted"> (updates live)</span> : null}
              {view.progress && !isFinal(view.status) ? (
                <span class="muted">
                  {" "}
                  · {view.progress.phase}
                  {view.progress.rows ? `, ${view.progress.rows.toLocaleString("en")} rows so far` : ""}
                </span>
              ) : null}
            </p>
            <ElapsedClock view={view} />
            {view.status === RequestStatus.Pending || view.status === RequestStatus.Running ? (
              <button type="button" class="danger" onClick={cancel} disabled={cancelling}>
                {cancelling ? "Cancelling…" : "Cancel request"}
              </button>
            ) : null}
            <dl class="facts">
              <dt>Request id</dt>
              <dd>
                <code>{view.id}</code>
              </dd>
              <dt>Requested</dt>
              <dd>
                <Time iso={view.report_date} />
              </dd>
              <dt>Started</dt>
              <dd>
                <Time iso={view.started_at} />
              </dd>
              <dt>Finished</dt>
              <dd>
                <Time iso={view.finished_at} />
              </dd>
              <dt>Run time</dt>
              <dd>{duration(view.duration_ms)}</dd>
              <dt>Attempts</dt>
              <dd>{view.max_attempts ? `${view.attempts} of ${view.max_attempts}` : view.attempts}</dd>
              <dt>Output</dt>
              <dd>{[view.output].flat().join(", ")}</dd>
              <dt>Parameters</dt>
              <dd>
                {Object.keys(view.params ?? {}).length ? (
                  <span class="params">{describeParams(view.params)}</span>
                ) : (
                  <span class="muted">none</span>
                )}
                <details>
                  <summary>as stored</summary>
                  <code>{JSON.stringify(view.params)}</code>
                </details>
              </dd>
            </dl>
            {view.error ? (
              <div class="failure" role="alert">
                <strong>Failed ({view.error.code})</strong>
                <p>{view.error.message}</p>
              </div>
            ) : null}
          </section>
          {view.status === RequestStatus.Completed && rows ? (
            <Completed view={rows} onPage={setPage} pageSize={pageSize} onPageSize={(n) => (setPageSize(n), setPage(0))} />
          ) : null}
          <p>
            <a href={`#/run/${encodeURIComponent(view.report_name)}`}>Run {view.report_name} again</a> · <a href="#/history">History</a>
          </p>
        </>
      ) : null}
    </>
  );
}

function Completed(props: { view: RequestView; pageSize: number; onPage(page: number): void; onPageSize(size: number): void }) {
  const { view } = props;
  // A files-only request stored no rows to page through.
  const hasRows = Array.isArray(view.rows);
  return (
    <>
      {filesOf(view).length > 0 ? <Downloads view={view} /> : <FileFromRows view={view} />}
      {hasRows ? (
        <>
          <ResultsTable view={view} pageSize={props.pageSize} onPage={props.onPage} onPageSize={props.onPageSize} />
          <ChartPanel id={view.id} columns={view.columns ?? []} totalRows={view.total_rows ?? 0} />
        </>
      ) : (
        <p>This request was for files only: {view.total_rows ?? 0} rows.</p>
      )}
    </>
  );
}

/**
 * A JSON run's rows as a file: the same report and parameters again with output csv (a new request,
 * whose page offers the download), so a reader never has to retype a form to get a spreadsheet.
 */
function FileFromRows({ view }: { view: RequestView }) {
  const [failure, setFailure] = useState<Error | null>(null);
  const [sending, setSending] = useState(false);
  const request = async () => {
    setSending(true);
    setFailure(null);
    try {
      const created = await postJson<RequestView>("/v1/reports", { report_name: view.report_name, ...view.params, output: "csv" });
      location.hash = `#/requests/${created.id}`;
    } catch (error) {
      setFailure(error as Error);
    } finally {
      setSending(false);
    }
  };
  return (
    <section aria-labelledby="file-title" class="download">
      <h2 id="file-title">As a file</h2>
      <p>
        <button type="button" onClick={request} disabled={sending}>
          {sending ? "Asking…" : "Make a CSV of these rows"}
        </button>{" "}
        <span class="muted">runs the report again with the same parameters and stores a CSV file</span>
      </p>
      {failure ? <Failure error={failure} /> : null}
    </section>
  );
}

/** What each format is called on its download button. */
const FORMAT_LABELS: Record<StoredFileView["format"], string> = { csv: "CSV", ndjson: "NDJSON", xlsx: "Excel", parquet: "Parquet" };

/** The files a completed request stored; a result from before `files` has its CSV only. */
function filesOf(view: RequestView): StoredFileView[] {
  if (view.files?.length) return view.files;
  if (!view.csv) return [];
  return [
    {
      format: "csv",
      content_type: "text/csv",
      rows: view.csv.rows ?? view.total_rows ?? 0,
      bytes: view.csv.bytes,
      download: `/v1/reports/${view.id}/csv`,
      ...(view.gcs_link ? { gcs_link: view.gcs_link } : {}),
    },
  ];
}

/** Every stored file, one download each. */
function Downloads({ view }: { view: RequestView }) {
  return (
    <section aria-labelledby="download-title" class="download">
      <h2 id="download-title">Download</h2>
      {filesOf(view).map((file) => (
        <DownloadFile key={file.format} view={view} file={file} />
      ))}
    </section>
  );
}

/**
 * One file: a signed GCS link is a plain link (it carries its own authorisation); the download
 * route is fetched with the API key header, so the key never appears in a URL.
 */
function DownloadFile({ view, file }: { view: RequestView; file: StoredFileView }) {
  const [failure, setFailure] = useState<Error | null>(null);
  const signed = file.gcs_link?.startsWith("https://") || file.gcs_link?.startsWith("http://");
  const size = `${file.rows} rows, ${file.bytes.toLocaleString("en")} bytes`;
  const download = async (event: Event) => {
    if (signed) return; // the browser follows the link itself
    event.preventDefault();
    setFailure(null);
    try {
      const response = await fetch(file.download, { headers: authHeaders() });
      if (!response.ok) throw new ApiError(await response.json());
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download =
        /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ??
        `${view.report_name}-${view.id}.${file.format}`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setFailure(error as Error);
    }
  };
  return (
    <>
      <p>
        <a class="button" href={signed ? file.gcs_link : file.download} onClick={download} download>
          Download {FORMAT_LABELS[file.format]}
        </a>{" "}
        <span class="muted">{size}</span>
      </p>
      {file.gcs_link && !signed ? (
        <p class="muted">
          Stored at <code>{file.gcs_link}</code>
        </p>
      ) : null}
      {failure ? <Failure error={failure} /> : null}
    </>
  );
}
