// The Worker's only way to a tenant's Durable Object: a stub chosen by tenant id, retries of
// idempotent calls on retryable errors, and the conversion of RPC results into API answers
// (failure values become ApiErrors; rate-limit state becomes RateLimit headers).
import { tryGetContext } from "hono/context-storage";
import type { RateState } from "../durable-objects/rate-limit";
import type { Result } from "../durable-objects/rpc-contract";
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
export function retrying<T extends object>(makeStub: () => T, idempotent: boolean): T {
  let stub = makeStub();
  return new Proxy(stub, {
    get(_target, prop) {
      const value = Reflect.get(stub, prop);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        for (let attempt = 0; ; attempt++) {
          try {
            // Call as a method: RPC stubs treat .apply/.call as remote method names.
            return await (stub as Record<PropertyKey, (...a: unknown[]) => unknown>)[prop]?.(...args);
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

export function unwrap<T>(result: Result<T> & { rate?: RateState }): T {
  const headers = result.rate ? rateHeaders(result.rate) : {};
  const c = tryGetContext();
  if (c) for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (result.ok) return result.value;
  if (result.code === "rate_limited" && result.rate) headers["Retry-After"] = String(result.rate.retryAfter);
  throw new ApiError(result.code, result.detail, result.extras, headers);
}
