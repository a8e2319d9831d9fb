// Domain errors and their RFC 9457 problem form. One place maps codes to HTTP statuses.
import type { ErrorCode, Failure } from "../durable-objects/contract/result";

export const STATUS_OF: Record<ErrorCode, number> = {
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  validation_failed: 400,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  range_not_satisfiable: 416,
  rate_limited: 429,
  quota_exceeded: 403,
  tenant_suspended: 403,
  tenant_cancelled: 410,
  feature_not_in_plan: 403,
  changes_expired: 410,
  legal_hold: 409,
  service_unavailable: 503,
  not_available_locally: 501,
  internal: 500,
};

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(STATUS_OF, code);

const TITLE_OF: Record<ErrorCode, string> = {
  unauthenticated: "Authentication required",
  forbidden: "Forbidden",
  not_found: "Not found",
  validation_failed: "Validation failed",
  conflict: "Conflict",
  precondition_failed: "Precondition failed",
  payload_too_large: "Payload too large",
  range_not_satisfiable: "Range not satisfiable",
  rate_limited: "Too many requests",
  quota_exceeded: "Quota exceeded",
  tenant_suspended: "Tenant suspended",
  tenant_cancelled: "Tenant cancelled",
  feature_not_in_plan: "Feature not in plan",
  changes_expired: "Changes expired",
  legal_hold: "Legal hold",
  service_unavailable: "Service unavailable",
  not_available_locally: "Not available locally",
  internal: "Internal error",
};

/** An expected failure; the error handler turns it into a problem response. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extras: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  get status(): number {
    return STATUS_OF[this.code];
  }

  static from(f: Failure): ApiError {
    return new ApiError(f.code, f.detail, f.extras);
  }
}

export const notFound = (detail = "Not found.") => new ApiError("not_found", detail);
export const forbidden = (detail = "Forbidden.") => new ApiError("forbidden", detail);
export const invalid = (detail: string, extras?: Record<string, unknown>) =>
  new ApiError("validation_failed", detail, extras);

export function problemBody(code: ErrorCode, detail: string, requestId: string, extras: Record<string, unknown> = {}) {
  return {
    ...extras,
    type: `urn:silo:problem:${code}`,
    title: TITLE_OF[code],
    status: STATUS_OF[code],
    detail,
    code,
    requestId,
  };
}

export function problemResponse(
  code: ErrorCode,
  detail: string,
  requestId: string,
  extras: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(problemBody(code, detail, requestId, extras)), {
    status: STATUS_OF[code],
    headers: { "content-type": "application/problem+json", "x-request-id": requestId, ...headers },
  });
}
