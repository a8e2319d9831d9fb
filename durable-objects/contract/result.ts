// What every RPC answers. Workers RPC drops custom error classes, so expected failures travel as
// values; only bugs throw. Everything here is JSON, so the runtime's RPC types keep it intact
// (a field typed `unknown` would turn a whole answer into `never` on the Worker's side).
import { z } from "zod";

export type Json = string | number | boolean | null | JsonArray | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}
export interface JsonArray extends Array<Json> {}

/**
 * Any JSON value, in schemas that describe answers: a body parsed from JSON is JSON already, and
 * zod's recursive z.json() would send the OpenAPI generator into endless recursion.
 */
// Typed as Json for the compiler; described as "any value" for the OpenAPI generator.
export const JsonValueSchema = z.unknown() as z.ZodType<Json>;

export type ErrorCode =
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "validation_failed"
  | "conflict"
  | "legal_hold"
  | "precondition_failed"
  | "payload_too_large"
  | "range_not_satisfiable"
  | "rate_limited"
  | "quota_exceeded"
  | "tenant_suspended"
  | "tenant_cancelled"
  | "feature_not_in_plan"
  | "changes_expired"
  | "service_unavailable"
  | "not_available_locally"
  | "internal";

export interface Failure {
  ok: false;
  code: ErrorCode;
  detail: string;
  /** Extra problem members, e.g. `limit` and `current` for quota refusals, `field` for validation. */
  extras?: { [key: string]: Json };
}

export type Result<T> = { ok: true; value: T } | Failure;

/** The tenant's rate-limit state after a gated call, for the RateLimit headers. */
export interface RateState {
  /** Bucket size (requests). */
  limit: number;
  /** Tokens left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  reset: number;
  /** Seconds the client should wait when refused. */
  retryAfter: number;
  /** Seconds the whole bucket takes to refill (the policy window). */
  window: number;
}

/** What a gated RPC method answers: its result, the tenant's rate state, and `replayed` when it
 * is the first answer to an Idempotency-Key given again. */
export type Answer<T> = Result<T> & { rate?: RateState; replayed?: true };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = (code: ErrorCode, detail: string, extras?: { [key: string]: Json }): Failure => ({
  ok: false,
  code,
  detail,
  ...(extras ? { extras } : {}),
});

export function isFailure(v: unknown): v is Failure {
  return typeof v === "object" && v !== null && (v as Failure).ok === false && "code" in v;
}

/** The one way a failed zod parse becomes a `validation_failed` answer, on either side of the seam. */
export function failFromZod(error: z.ZodError, target = "body"): Failure {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    const keys = issue.keys.join("', '");
    return fail("validation_failed", `Unknown or read-only field '${keys}' in the ${target}.`, {
      field: issue.keys[0] ?? null,
    });
  }
  const errors = error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
  const first = errors[0];
  const where = first?.path ? `${target} field '${first.path}'` : target;
  return fail("validation_failed", `Invalid ${where}: ${first?.message ?? "invalid input"}.`, {
    errors,
    ...(first?.path ? { field: first.path } : {}),
  });
}
