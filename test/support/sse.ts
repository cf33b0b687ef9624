/**
 * A server-sent events client for tests, reading the stream with fetch and parsing it as the
 * HTML specification's EventSource does (fields, comments, blank-line dispatch).
 */
export interface ServerSentEvent {
  event: string;
  id?: string;
  data: any;
}

export interface EventStreamResponse {
  status: number;
  headers: Headers;
  /** Events as they arrive; ends when the server ends the stream (or `close` is called). */
  events: AsyncIterator<ServerSentEvent>;
  /** Comment lines seen so far (heartbeats). */
  comments: string[];
  close(): void;
}

export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStreamResponse> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { Accept: "text/event-stream", ...headers }, signal: controller.signal });
  const comments: string[] = [];
  async function* parse(): AsyncGenerator<ServerSentEvent> {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = "";
    let current: { event?: string; id?: string; data: string[] } = { data: [] };
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\n|\r/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
          if (line === "") {
            if (current.data.length > 0) {
              const text = current.data.join("\n");
              let data: unknown = text;
              try {
                data = JSON.parse(text);
              } catch {
                // not JSON: keep the text
              }
              yield { event: current.event ?? "message", ...(current.id === undefined ? {} : { id: current.id }), data };
            }
            current = { data: [] };
            continue;
          }
          if (line.startsWith(":")) {
            comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") current.event = value;
          else if (field === "id") current.id = value;
          else if (field === "data") current.data.push(value);
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  }
  return {
    status: response.status,
    headers: response.headers,
    events: parse()[Symbol.asyncIterator](),
    comments,
    close: () => controller.abort(),
  };
}

/** Reads events until `stop` says so (inclusive) or the stream ends; fails after `timeoutMs`. */
export async function readEvents(
  stream: EventStreamResponse,
  stop: (event: ServerSentEvent) => boolean = () => false,
  timeoutMs = 120_000,
): Promise<ServerSentEvent[]> {
  const seen: ServerSentEvent[] = [];
  const timer = setTimeout(() => stream.close(), timeoutMs);
  try {
    // next(), not for-await: leaving a for-await loop would end the stream for later reads.
    for (;;) {
      const next = await stream.events.next();
      if (next.done) break;
      seen.push(next.value);
      if (stop(next.value)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}
