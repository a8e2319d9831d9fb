// The Worker's one way to a tenant's Durable Object: `tenantClient(c)` resolves the tenant and the
// caller from the credential and the stub once (jurisdiction included); `call()` invokes one typed
// RPC method, repeats it only when repeating is safe, turns a failure value into an ApiError and
// puts the tenant's rate state on the response. No Proxy, no hidden side effects.
import type { Context } from "hono";
import type { Caller } from "../durable-objects/contract/caller";
import type { Answer, RateState } from "../durable-objects/contract/result";
import { tenantCall } from "./caller";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";
import { type TenantStub, tenantStub } from "./tenant-stub";

export { type TenantStub, tenantStub } from "./tenant-stub";

const RETRIES = 2;
const BACKOFF_MS = 50;

interface RpcError {
  retryable?: boolean;
  overloaded?: boolean;
}

export const isOverloaded = (err: unknown) => Boolean((err as RpcError)?.overloaded);

/**
 * Invokes `invoke` on a stub; when `retry` is set, repeats it (with a fresh stub and exponential
 * backoff) on errors the platform marks retryable, never when the object is overloaded
 * (retrying would make the overload worse).
 */
export async function withRetries<S, T>(
  makeStub: () => S,
  invoke: (stub: S) => Promise<T>,
  retry: boolean,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await invoke(makeStub());
    } catch (err) {
      const e = err as RpcError;
      if (!retry || e?.overloaded || !e?.retryable || attempt >= RETRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS * 2 ** attempt));
    }
  }
}

export function rateHeaders(rate: RateState): Record<string, string> {
  return {
    "RateLimit-Policy": `"tenant";q=${rate.limit};w=${rate.window}`,
    RateLimit: `"tenant";r=${rate.remaining};t=${rate.reset}`,
  };
}

interface HeaderSink {
  header(name: string, value: string): void;
}

/** The value of an answer, or the ApiError for a failure (with RateLimit and Retry-After headers). */
export function answerValue<T>(answer: Answer<T>, sink?: HeaderSink): T {
  const headers = answer.rate ? rateHeaders(answer.rate) : {};
  if (answer.ok) {
    if (sink) for (const [name, value] of Object.entries(headers)) sink.header(name, value);
    return answer.value;
  }
  if (answer.code === "rate_limited" && answer.rate) headers["Retry-After"] = String(answer.rate.retryAfter);
  if (answer.code === "service_unavailable") headers["Retry-After"] = String(answer.extras?.retryAfter ?? 1);
  throw new ApiError(answer.code, answer.detail, answer.extras, headers);
}

export interface CallOptions {
  /**
   * Whether repeating the call can do no harm; by default for GET, HEAD, PUT and DELETE, and for
   * a POST's call that carries its Idempotency-Key (the object replays the first answer).
   */
  retry?: boolean;
}

const SAFE_TO_REPEAT = new Set(["GET", "HEAD", "PUT", "DELETE"]);

export interface TenantClient {
  tenantId: string;
  caller: Caller;
  call<T>(invoke: (stub: TenantStub, caller: Caller) => Promise<Answer<T>>, options?: CallOptions): Promise<T>;
}

/** The data-plane client of a request: the tenant and caller from the credential, and its object. */
export async function tenantClient(c: Context<AppEnv>, pathTenant?: string): Promise<TenantClient> {
  const { tenantId, caller } = await tenantCall(c, pathTenant);
  const stub = () => tenantStub(c.env, tenantId);
  const safe = SAFE_TO_REPEAT.has(c.req.method);
  // A POST's Idempotency-Key goes with its first call (a route's write), never with later ones.
  let idempotency = c.get("idempotency") ?? null;
  return {
    tenantId,
    caller,
    call: async (invoke, options) => {
      const once = idempotency ? { ...caller, idempotency } : caller;
      const retry = options?.retry ?? (safe || idempotency !== null);
      idempotency = null;
      const answer = await withRetries(stub, (s) => invoke(s, once), retry);
      if (answer.replayed) c.header("Idempotent-Replayed", "true");
      return answerValue(answer, c);
    },
  };
}

/** The control plane's client of one tenant's object (platform calls take no caller). */
export function platformClient(env: Env, tenantId: string) {
  return {
    call: async <T>(invoke: (stub: TenantStub) => Promise<Answer<T>>, options?: CallOptions): Promise<T> =>
      answerValue(await withRetries(() => tenantStub(env, tenantId), invoke, options?.retry ?? false)),
  };
}
