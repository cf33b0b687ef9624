/** How long the client pauses between calls: what `Retry-After` asks for, and a pause a caller can abort. */

/** `Retry-After` in seconds as milliseconds (at most 30 s), or undefined without a usable one. */
export function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("Retry-After");
  const seconds = Number(header);
  return header !== null && Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 30) * 1000 : undefined;
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts. */
export function pauseFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const stop = () => {
      clearTimeout(timer);
      const reason: unknown = signal!.reason;
      reject(reason instanceof Error ? reason : new Error(String(reason)));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", stop);
      resolve();
    }, ms);
    signal?.addEventListener("abort", stop, { once: true });
  });
}
