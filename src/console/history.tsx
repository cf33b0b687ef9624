/** History: the requests made, newest first, filterable by report and status, paged with the list route's cursor. */
import { useEffect, useState } from "preact/hooks";
import { getJson, reports, type HistoryPage } from "./api.ts";
import { useAuthVersion, useLoad } from "./hooks.ts";
import { describeParams } from "./cells.ts";
import { duration, Failure, StatusBadge, Time } from "./widgets.tsx";
import { STATUSES } from "../requests/status.ts";

const LIMIT = 20;

export function HistoryView() {
  const version = useAuthVersion();
  const [reportName, setReportName] = useState("");
  const [status, setStatus] = useState("");
  // The cursors of the pages before this one: "Newer" pops, "Older" pushes.
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors.at(-1);
  const catalogue = useLoad(() => reports(), [version]);
  const loaded = useLoad(
    (signal) => {
      const query = new URLSearchParams({ limit: String(LIMIT) });
      if (reportName) query.set("report_name", reportName);
      if (status) query.set("status", status);
      if (after) query.set("after", after);
      return getJson<HistoryPage>(`/v1/reports?${query}`, signal);
    },
    [reportName, status, after, version],
  );
  useEffect(() => {
    document.title = "History · mongo-reports";
  }, []);
  const names = catalogue.state === "done" ? catalogue.value.map((r) => r.name) : [];
  return (
    <>
      <h1 tabIndex={-1}>History</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-report">Report</label>
          <select id="filter-report" value={reportName} onChange={(e) => (setReportName(e.currentTarget.value), setCursors([]))}>
            <option value="">All reports</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(e) => (setStatus(e.currentTarget.value), setCursors([]))}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </form>
      {loaded.state === "loading" ? <p aria-busy="true">Loading…</p> : null}
      {loaded.state === "failed" ? <Failure error={loaded.error} /> : null}
      {loaded.state === "done" ? (
        <>
          {loaded.value.items.length === 0 ? (
            <p role="status">No requests{reportName || status ? " match these filters" : " yet"}.</p>
          ) : (
            <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="history-caption">
              <table class="history">
                <caption id="history-caption">Requests, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Requested</th>
                    <th scope="col">Report</th>
                    <th scope="col">Status</th>
                    <th scope="col">Output</th>
                    <th scope="col" class="num">
                      Run time
                    </th>
                    <th scope="col">Parameters</th>
                    <th scope="col">Request</th>
                  </tr>
                </thead>
                <tbody>
                  {loaded.value.items.map((item) => (
                    <tr key={item.id}>
                      <td>
                        <Time iso={item.report_date} />
                        {item.schedule_id ? <span class="muted"> · scheduled</span> : null}
                      </td>
                      <td>{item.report_name}</td>
                      <td>
                        <StatusBadge status={item.status} />
                      </td>
                      <td>{[item.output].flat().join(", ")}</td>
                      <td class="num">{duration(item.duration_ms)}</td>
                      <td class="params">{describeParams(item.params)}</td>
                      <td>
                        <a href={`#/requests/${item.id}`}>
                          <span class="visually-hidden">Open {item.report_name} request </span>
                          <code>{item.id.slice(-8)}</code>
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav class="pager" aria-label="Pages of history">
            <button type="button" onClick={() => setCursors([])} disabled={cursors.length === 0}>
              Newest
            </button>
            <button type="button" onClick={() => setCursors(cursors.slice(0, -1))} disabled={cursors.length === 0}>
              Newer
            </button>
            <span>Page {cursors.length + 1}</span>
            <button
              type="button"
              onClick={() => loaded.value.next_after && setCursors([...cursors, loaded.value.next_after])}
              disabled={!loaded.value.next_after}
            >
              Older
            </button>
          </nav>
        </>
      ) : null}
    </>
  );
}
