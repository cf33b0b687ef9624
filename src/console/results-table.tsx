/** Read: one page of rows, headers from the report's columns, numbers right-aligned; paged on the server. */
import type { RequestView } from "./api.ts";
import { formatCell, isNumericColumn } from "./cells.ts";

const PAGE_SIZES = [5, 10, 25, 50, 100];

export function ResultsTable(props: { view: RequestView; pageSize: number; onPage(page: number): void; onPageSize(size: number): void }) {
  const { view } = props;
  const columns = view.columns ?? [];
  const rows = view.rows ?? [];
  const page = view.page ?? 0;
  const totalPages = view.total_pages ?? 0;
  const total = view.total_rows ?? 0;
  const first = total === 0 ? 0 : page * props.pageSize + 1;
  const last = Math.min(total, page * props.pageSize + rows.length);
  const numeric = new Set(columns.filter((c) => isNumericColumn(rows, c)));
  return (
    <section aria-labelledby="rows-title">
      <h2 id="rows-title">Rows</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="rows-caption">
        <table>
          <caption id="rows-caption">
            Rows {first}–{last} of {total.toLocaleString("en")}
          </caption>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c} scope="col" class={numeric.has(c) ? "num" : undefined}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={`${page}-${i}`}>
                {columns.map((c) => (
                  <td key={c} class={numeric.has(c) ? "num" : typeof row[c] === "object" && row[c] !== null ? "nested" : undefined}>
                    {formatCell(row[c])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages of rows">
        <button type="button" onClick={() => props.onPage(0)} disabled={page === 0}>
          First
        </button>
        <button type="button" onClick={() => props.onPage(page - 1)} disabled={page === 0}>
          Previous page
        </button>
        <span aria-live="polite">
          Page {totalPages === 0 ? 0 : page + 1} of {totalPages}
        </span>
        <button type="button" onClick={() => props.onPage(page + 1)} disabled={page + 1 >= totalPages}>
          Next page
        </button>
        <button type="button" onClick={() => props.onPage(Math.max(0, totalPages - 1))} disabled={page + 1 >= totalPages}>
          Last
        </button>
        <label for="page-size">Rows per page</label>
        <select id="page-size" value={props.pageSize} onChange={(e) => props.onPageSize(Number(e.currentTarget.value))}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </nav>
    </section>
  );
}
