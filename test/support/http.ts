/** Small fetch wrappers that return status, headers and parsed JSON together. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(url: string, init: RequestInit & { json?: unknown } = {}): Promise<JsonResponse<T>> {
  const { json, ...rest } = init;
  const response = await fetch(url, {
    ...rest,
    ...(json === undefined ? {} : { body: JSON.stringify(json), method: rest.method ?? "POST" }),
    headers: {
      ...(json === undefined ? {} : { "content-type": "application/json" }),
      ...(rest.headers as Record<string, string> | undefined),
    },
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text: a test asserting JSON will show what came instead
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export const post = <T = any>(url: string, json: unknown, headers: Record<string, string> = {}) =>
  request<T>(url, { method: "POST", json, headers });
export const get = <T = any>(url: string, headers: Record<string, string> = {}) => request<T>(url, { headers });

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 120_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Submits a report over HTTP and waits for a final status (re-asking with wait=20 until `waitS`); returns its body. */
export async function submitAndWait(baseUrl: string, body: Record<string, unknown>, waitS = 60): Promise<any> {
  const submitted = await post(`${baseUrl}/v1/reports`, body);
  if (submitted.status !== 202) throw new Error(`submit answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
  const deadline = Date.now() + waitS * 1000;
  for (;;) {
    const status = await get(`${baseUrl}/v1/reports/${submitted.body.id}?wait=20`);
    if (["completed", "error", "cancelled"].includes(status.body.status) || Date.now() > deadline) return status.body;
  }
}
