/**
 * The console's only door to the service: fetch with the tab's API key (if any) in a header,
 * never in a URL; RFC 9457 problems turned into ApiError; a 401 announced so the shell can ask
 * for a key.
 */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

const KEY_ITEM = "mongo-reports.api-key";
const listeners = new Set<() => void>();
let keyNeeded = false;

/** The API key for this tab (sessionStorage: gone when the tab closes, never sent to another origin). */
export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_ITEM, key);
  else sessionStorage.removeItem(KEY_ITEM);
  keyNeeded = false;
  keyVersion++;
  notify();
}

let keyVersion = 0;

/** Changes only when the key does: views reload what they show then (not on every 401). */
export function currentKeyVersion(): number {
  return keyVersion;
}

/** True after the service answered 401: the shell shows the key form. */
export function isKeyNeeded(): boolean {
  return keyNeeded;
}

/** Called when the key changes or turns out to be needed; returns the unsubscribe function. */
export function onAuthChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of listeners) listener();
}

export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/** The response, or an ApiError carrying the service's problem (or one made up for a network failure). */
export async function send(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal; accept?: string } = {},
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: {
        accept: init.accept ?? "application/json",
        ...authHeaders(),
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: init.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError({ type: "about:blank", title: "Network error", status: 0, detail: "the service could not be reached; retrying" });
  }
  if (response.ok) return response;
  let problem: Problem;
  try {
    problem = (await response.json()) as Problem;
  } catch {
    problem = { type: "about:blank", title: response.statusText || "Error", status: response.status };
  }
  if (response.status === 401 && !keyNeeded) {
    keyNeeded = true;
    notify();
  }
  throw new ApiError(problem);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await send(path, { signal })).json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await (await send(path, { body })).json()) as T;
}

// ---- the shapes the console reads ----

export interface ReportDescription {
  name: string;
  collection: string;
  description: string;
  kind: string;
  parameters: import("./form.ts").JsonSchema;
  columns: { name: string; description?: string }[];
  example: Record<string, unknown>;
}

export type Status = "pending" | "running" | "completed" | "error" | "cancelled";
export const FINAL: readonly Status[] = ["completed", "error", "cancelled"];

export interface RequestView {
  id: string;
  report_name: string;
  status: Status;
  output: "json" | "csv" | "both";
  params: Record<string, unknown>;
  report_date: string;
  attempts: number;
  max_attempts?: number;
  started_at?: string;
  finished_at?: string;
  duration_ms?: number;
  /** Set on requests a schedule fired. */
  schedule_id?: string;
  error?: { code: string; message: string };
  columns?: string[];
  rows?: Record<string, unknown>[];
  page?: number;
  page_size?: number;
  total_rows?: number;
  total_pages?: number;
  gcs_link?: string;
  progress?: Progress;
  csv?: { bytes: number; rows?: number };
  links: Record<string, string>;
}

export interface Progress {
  phase: string;
  rows: number;
  bytes?: number;
  phase_ms?: number;
}

export interface HistoryPage {
  items: RequestView[];
  limit: number;
  next_after?: string;
}

/** GET /v1/report-definitions: the catalogue, and what the deployment says about its data. */
interface Discovery {
  reports: ReportDescription[];
  dataset?: { note: string };
}

let discovery: Promise<Discovery> | null = null;

function discover(reload: boolean): Promise<Discovery> {
  if (!discovery || reload) {
    discovery = getJson<Discovery>("/v1/report-definitions");
    discovery.catch(() => (discovery = null));
  }
  return discovery;
}

/** The catalogue, fetched once per page load (reload() to refresh). */
export function reports(reload = false): Promise<ReportDescription[]> {
  return discover(reload).then((body) => body.reports);
}

/** The deployment's note on its data (the demo data under `npm start`), if it gives one. */
export function datasetNote(): Promise<string | undefined> {
  return discover(false).then((body) => body.dataset?.note);
}

/** Cancels a pending or running request. */
export async function cancelRequest(id: string): Promise<RequestView> {
  return (await (await send(`/v1/reports/${id}/cancel`, { method: "POST" })).json()) as RequestView;
}

/**
 * Follows GET /v1/reports/:id/events (server-sent events) until the stream ends, calling `on`
 * for each event. Read with fetch rather than EventSource, which cannot send the API key header
 * (and a key in the URL would end up in logs and history).
 */
export async function followEvents(id: string, signal: AbortSignal, on: (event: string, data: unknown) => void): Promise<void> {
  const response = await send(`/v1/reports/${id}/events`, { signal, accept: "text/event-stream" });
  if (response.status === 204 || !response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) on(name, JSON.parse(data.join("\n")));
    }
  }
}
