/** Catalogue: every report with its description, collection and columns; search by name. */
import { useEffect, useState } from "preact/hooks";
import { reports } from "./api.ts";
import { useAuthVersion, useLoad } from "./hooks.ts";
import { Failure } from "./widgets.tsx";

export function CatalogueView() {
  const [query, setQuery] = useState("");
  const version = useAuthVersion();
  const loaded = useLoad(() => reports(version > 0), [version]); // a new key may see more
  useEffect(() => {
    document.title = "Reports · mongo-reports";
  }, []);
  const needle = query.trim().toLowerCase();
  return (
    <>
      <h1 tabIndex={-1}>Reports</h1>
      <div class="search">
        <label for="search">Search reports by name</label>
        <input id="search" type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} placeholder="e.g. directors" />
      </div>
      {loaded.state === "loading" ? <p aria-busy="true">Loading the catalogue…</p> : null}
      {loaded.state === "failed" ? <Failure error={loaded.error} /> : null}
      {loaded.state === "done" ? (
        <Results list={loaded.value.filter((r) => r.name.toLowerCase().includes(needle))} total={loaded.value.length} />
      ) : null}
    </>
  );
}

function Results({ list, total }: { list: Awaited<ReturnType<typeof reports>>; total: number }) {
  return (
    <>
      <p role="status" class="muted">
        {list.length === total ? `${total} reports` : `${list.length} of ${total} reports match`}
      </p>
      <ul class="cards">
        {list.map((report) => (
          <li key={report.name} class="card">
            <h2>
              <a href={`#/run/${encodeURIComponent(report.name)}`}>{report.name}</a>
            </h2>
            <p>{report.description}</p>
            <dl class="facts">
              <dt>Collection</dt>
              <dd>{report.collection}</dd>
              <dt>Columns</dt>
              <dd>{report.columns.map((c) => c.name).join(", ")}</dd>
            </dl>
          </li>
        ))}
      </ul>
    </>
  );
}
