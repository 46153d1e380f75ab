// A tiny HTTP client for tests and benches: JSON in and out, a timeout on every request, and failures
// returned as values that say whether the request may have reached the server.

/** What came back, or why nothing did. */
export type HttpResult =
  | { readonly kind: "response"; readonly status: number; readonly body: unknown; readonly headers: Headers; readonly elapsedMs: number }
  | { readonly kind: "failure"; readonly failure: HttpFailure; readonly message: string; readonly elapsedMs: number };

/**
 * `refused`: the connection was refused, so the server never saw the request. `timeout` and `broken`
 * (reset, closed half-way): the server may have received and acted on it.
 */
export type HttpFailure = "refused" | "timeout" | "broken";

export interface HttpRequestOptions {
  readonly method?: "GET" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Extra request headers, e.g. `idempotency-key`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Covers the whole exchange, the response body included. */
  readonly timeoutMs: number;
}

export async function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpResult> {
  const startedMs = performance.now();
  const elapsedMs = (): number => performance.now() - startedMs;
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  try {
    const response = await fetch(url, {
      method: options.method ?? "GET",
      signal: AbortSignal.timeout(options.timeoutMs),
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await response.text();
    return { kind: "response", status: response.status, body: parseBody(text, response.headers), headers: response.headers, elapsedMs: elapsedMs() };
  } catch (error) {
    const failure = classifyFailure(error);
    return { kind: "failure", failure, message: `${options.method ?? "GET"} ${url} failed (${failure}): ${describeError(error)}`, elapsedMs: elapsedMs() };
  }
}

/** Like `httpRequest`, but a failure to get any answer throws: for tests where the node must be up. */
export async function httpExchange(url: string, options: HttpRequestOptions): Promise<Extract<HttpResult, { kind: "response" }>> {
  const result = await httpRequest(url, options);
  if (result.kind === "failure") throw new Error(result.message);
  return result;
}

/** The `code` of an error body (`{ code, message, … }`), if it has one. */
export function errorCodeOf(body: unknown): string | undefined {
  return isRecord(body) && typeof body["code"] === "string" ? body["code"] : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseBody(text: string, headers: Headers): unknown {
  if (!(headers.get("content-type") ?? "").includes("application/json") || text.length === 0) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function classifyFailure(error: unknown): HttpFailure {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return "timeout";
  const cause = error instanceof Error ? error.cause : undefined;
  const code = isRecord(cause) ? cause["code"] : undefined;
  return code === "ECONNREFUSED" ? "refused" : "broken";
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
