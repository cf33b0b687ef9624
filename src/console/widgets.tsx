/** Small pieces several views use: an error box, a status badge, dates. */
import { ApiError } from "./api.ts";

export function Failure({ error }: { error: Error }) {
  const problem = error instanceof ApiError ? error.problem : null;
  return (
    <div class="failure" role="alert">
      <strong>{problem ? problem.title : "Something went wrong"}</strong>
      {problem?.detail || !problem ? <p>{problem?.detail ?? error.message}</p> : null}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** An ISO time as the reader's local date and time, with the exact value in a tooltip. */
export function Time({ iso }: { iso?: string }) {
  if (!iso) return <span class="muted">—</span>;
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}
    </time>
  );
}

export function duration(ms?: number): string {
  if (ms === undefined) return "—";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
