/**
 * Chart: the rows of a completed request (up to CHART_ROWS, read in one page) as a bar chart, or a
 * line chart when the labels are time periods. chart.js is loaded only when a chart is drawn (a
 * separate chunk), so the first page of the console stays small.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { getJson, type RequestView } from "./api.ts";
import { chartPlan, chartSeries, type ChartPlan, type Row } from "./cells.ts";
import { useLoad } from "./hooks.ts";
import { Failure } from "./widgets.tsx";

const CHART_ROWS = 500;

export function ChartPanel({ id, columns, totalRows }: { id: string; columns: string[]; totalRows: number }) {
  const size = Math.max(1, Math.min(CHART_ROWS, totalRows));
  const loaded = useLoad((signal) => getJson<RequestView>(`/v1/reports/${id}?page=0&page_size=${size}`, signal), [id, size]);
  if (totalRows === 0) return null;
  if (loaded.state === "loading") return <p aria-busy="true">Loading the chart…</p>;
  if (loaded.state === "failed") return <Failure error={loaded.error} />;
  const rows = loaded.value.rows ?? [];
  const plan = chartPlan(columns, rows);
  return (
    <section aria-labelledby="chart-title">
      <h2 id="chart-title">Chart</h2>
      {plan ? (
        <ChartView plan={plan} rows={rows} truncated={totalRows > rows.length} />
      ) : (
        <p>These rows have no label and number columns to chart.</p>
      )}
    </section>
  );
}

function ChartView({ plan, rows, truncated }: { plan: ChartPlan; rows: Row[]; truncated: boolean }) {
  const [value, setValue] = useState(plan.values[0]);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const series = chartSeries(plan, rows, value);
  useEffect(() => {
    let chart: { destroy(): void } | undefined;
    let dropped = false;
    import("./chart.ts")
      .then(({ drawChart }) => {
        if (dropped || !canvas.current) return;
        chart = drawChart(canvas.current, {
          kind: plan.kind,
          labels: series.labels,
          series: value,
          values: series.values,
        });
      })
      .catch((error: Error) => setFailure(error));
    return () => {
      dropped = true;
      chart?.destroy();
    };
  }, [plan, rows, value]);
  return (
    <>
      <div class="field chart-controls">
        <label for="chart-value">Value to chart</label>
        <select id="chart-value" value={value} onChange={(e) => setValue(e.currentTarget.value)}>
          {plan.values.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </div>
      {failure ? <Failure error={failure} /> : null}
      <div class="chart-box">
        <canvas
          ref={canvas}
          role="img"
          aria-label={`${plan.kind === "line" ? "Line" : "Bar"} chart of ${value} by ${plan.label}, ${series.labels.length} ${plan.kind === "line" ? "points" : "bars"}`}
          data-kind={plan.kind}
        />
      </div>
      {series.note ? <p class="muted">{series.note}</p> : null}
      {truncated ? <p class="muted">The chart is drawn from the first {rows.length} rows of the result.</p> : null}
    </>
  );
}
