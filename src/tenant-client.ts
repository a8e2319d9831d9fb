// The Worker's only way to a tenant's Durable Object: a stub chosen by tenant id, retries of
// idempotent calls on retryable errors, and the conversion of RPC results into API answers
// (failure values become ApiErrors; rate-limit state becomes RateLimit headers).

import type { Result } from "../durable-objects/contract/rpc-contract";
import type { RateState } from "../durable-objects/gate/rate-limit";
import { ApiError } from "./errors";
import { jurisdictionOf, jurisdictionsEnabled, namespaceFor } from "./jurisdiction";

export function tenantStub(env: Env, tenantId: string) {
  const ns = namespaceFor(env.TENANT_DB, jurisdictionOf(env, tenantId), jurisdictionsEnabled(env));
  return ns.get(ns.idFromName(tenantId));
}

const RETRIES = 2;
const BACKOFF_MS = 50;

interface RpcError {
  retryable?: boolean;
  overloaded?: boolean;
}

/**
 * Wraps a stub factory so that method calls are retried (with a fresh stub and exponential
 * backoff) when the platform says the error is retryable, only for idempotent requests, and
 * never when the object is overloaded (retrying would make the overload worse).
 */
export function retrying<T extends object>(
  makeStub: () => T,
  idempotent: boolean,
  onResult?: (result: unknown) => void,
): T {
  let stub = makeStub();
  return new Proxy(stub, {
    get(_target, prop) {
      const value = Reflect.get(stub, prop);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        for (let attempt = 0; ; attempt++) {
          try {
            // Call as a method: RPC stubs treat .apply/.call as remote method names.
            const result = await (stub as Record<PropertyKey, (...a: unknown[]) => unknown>)[prop]?.(...args);
            onResult?.(result);
            return result;
          } catch (err) {
            const e = err as RpcError;
            if (!idempotent || e?.overloaded || !e?.retryable || attempt >= RETRIES) throw err;
            await new Promise((resolve) => setTimeout(resolve, BACKOFF_MS * 2 ** attempt));
            stub = makeStub();
          }
        }
      };
    },
  });
}

export const isOverloaded = (err: unknown) => Boolean((err as RpcError)?.overloaded);

export function rateHeaders(rate: RateState): Record<string, string> {
  return {
    "RateLimit-Policy": `"tenant";q=${rate.limit};w=${rate.window}`,
    RateLimit: `"tenant";r=${rate.remaining};t=${rate.reset}`,
  };
}

interface HeaderSink {
  header(name: string, value: string): void;
}

/** Puts an RPC result's rate-limit state on the response as RateLimit headers. */
export function applyRate(c: HeaderSink, result: unknown): void {
  const rate = (result as { rate?: RateState } | null)?.rate;
  if (rate) for (const [name, value] of Object.entries(rateHeaders(rate))) c.header(name, value);
}

/**
 * The value of a successful RPC result, or the ApiError for a failure (with RateLimit and
 * Retry-After headers). Pass the context to put the rate state on a successful response too;
 * stubs from tenantRpc do that themselves. (No AsyncLocalStorage: in workerd it kept every
 * request's context alive, a leak the benchmarks found.)
 */
export function unwrap<T>(result: Result<T> & { rate?: RateState }, c?: HeaderSink): T {
  const headers = result.rate ? rateHeaders(result.rate) : {};
  if (c && result.ok) applyRate(c, result);
  if (result.ok) return result.value;
  if (result.code === "rate_limited" && result.rate) headers["Retry-After"] = String(result.rate.retryAfter);
  throw new ApiError(result.code, result.detail, result.extras, headers);
}
