/**
 * The console's only door to the service: fetch with the tab's API key (if any) in a header,
 * never in a URL; RFC 9457 problems turned into ApiError; a 401 announced so the shell can ask
 * for a key. The wire types are the ones generated from the OpenAPI document for the TypeScript
 * client (clients/typescript), never copied by hand.
 */
import type { components, operations } from "@mongo-reports/client/openapi";
import { readEvents } from "@mongo-reports/client/sse";

type Schemas = components["schemas"];

export type Problem = Partial<Schemas["Problem"]> & {
  type: string;
  title: string;
  status: number;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
};

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

/** Waits as the response's Retry-After asks (1 s without one, 30 s at most); an abort ends the wait early. */
export function pauseAsAsked(response: Response, signal: AbortSignal): Promise<void> {
  const seconds = Number(response.headers.get("Retry-After") ?? 1);
  const ms = Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 30) * 1000 : 1000;
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await send(path, { signal })).json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return (await (await send(path, { body })).json()) as T;
}

// ---- the shapes the console reads (generated from the OpenAPI document) ----

export type ReportDescription = Schemas["ReportDescription"];
export type RequestView = Schemas["ReportRequestStatus"];
export type Status = RequestView["status"];
export type Progress = NonNullable<RequestView["progress"]>;
export type HistoryPage = Schemas["ReportRequestList"];
export type StoredFileView = NonNullable<RequestView["files"]>[number];

/** GET /v1/report-definitions: the catalogue, and what the deployment says about its data. */
type Discovery = operations["listReportDefinitions"]["responses"][200]["content"]["application/json"];

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
  for await (const event of readEvents(response.body)) on(event.event, JSON.parse(event.data));
}
