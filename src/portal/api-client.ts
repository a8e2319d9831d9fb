// The portal acts only through the Worker's own API, with the signed-in admin's token, so every
// portal action is validated, authorized and audited exactly like any other admin call.
/** What the portal needs of a request's context to call the API. */
export interface PortalContext {
  env: Env;
  executionCtx: { waitUntil(promise: Promise<unknown>): void; passThroughOnException(): void };
  var: { requestId: string };
}

export type ApiFetch = (request: Request, c: PortalContext) => Promise<Response>;

export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  ok: boolean;
  body: T;
  /** The problem's detail when the call failed. */
  error: string | null;
}

export function apiClient(fetchApi: ApiFetch, c: PortalContext, token: string) {
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetchApi(
      new Request(`https://silo.internal${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          "x-request-id": c.var.requestId,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      c,
    );
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer<T>> => {
    const res = await send(method, path, body, headers);
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    const error = res.ok ? null : String((parsed as { detail?: string })?.detail ?? `HTTP ${res.status}`);
    return { status: res.status, ok: res.ok, body: parsed as T, error };
  };
  /** The API's response as is, for streaming a download through. */
  return Object.assign(call, { raw: (path: string) => send("GET", path) });
}
