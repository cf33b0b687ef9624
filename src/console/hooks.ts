/** Small hooks the views share: the hash route, the auth version, and data loading with cancellation. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, currentKeyVersion, onAuthChange } from "./api.ts";

export type Route =
  | { view: "catalogue" }
  | { view: "run"; name: string }
  | { view: "request"; id: string }
  | { view: "history" }
  | { view: "missing"; hash: string };

/** `#/`, `#/run/<report>`, `#/requests/<id>`, `#/history`: hash routes need nothing from the server. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "") || "/";
  if (path === "/") return { view: "catalogue" };
  if (path === "/history") return { view: "history" };
  const run = /^\/run\/([^/]+)$/.exec(path);
  if (run) return { view: "run", name: decodeURIComponent(run[1]) };
  const request = /^\/requests\/([0-9a-f]{24})$/i.exec(path);
  if (request) return { view: "request", id: request[1] };
  return { view: "missing", hash };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return parseRoute(hash);
}

/** Changes whenever the API key changes, so views reload what a key may reveal. */
export function useAuthVersion(): number {
  const [version, setVersion] = useState(currentKeyVersion());
  useEffect(() => onAuthChange(() => setVersion(currentKeyVersion())), []);
  return version;
}

/** Re-renders on any access change, the key being asked for included (the shell shows the key form). */
export function useAccessChanges(): void {
  const [, setCount] = useState(0);
  useEffect(() => onAuthChange(() => setCount((n) => n + 1)), []);
}

export type Loaded<T> = { state: "loading" } | { state: "done"; value: T } | { state: "failed"; error: ApiError | Error };

/** Runs `load` whenever `deps` change; the previous load is aborted and its answer ignored. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  useEffect(() => {
    const controller = new AbortController();
    setLoaded({ state: "loading" });
    load(controller.signal).then(
      (value) => controller.signal.aborted || setLoaded({ state: "done", value }),
      (error: Error) => controller.signal.aborted || setLoaded({ state: "failed", error }),
    );
    return () => controller.abort();
  }, deps);
  return loaded;
}
