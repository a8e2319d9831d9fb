// What crosses the Worker ⇄ TenantDatabase RPC boundary. Workers RPC drops custom error classes,
// so expected failures travel as values; only bugs throw.

export type ErrorCode =
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "validation_failed"
  | "conflict"
  | "precondition_failed"
  | "payload_too_large"
  | "rate_limited"
  | "quota_exceeded"
  | "tenant_suspended"
  | "tenant_cancelled"
  | "legal_hold"
  | "service_unavailable"
  | "internal";

export interface Failure {
  ok: false;
  code: ErrorCode;
  detail: string;
  /** Extra problem members, e.g. `limit` and `current` for quota refusals, `field` for validation. */
  extras?: Record<string, unknown>;
}

export type Result<T> = { ok: true; value: T } | Failure;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = (code: ErrorCode, detail: string, extras?: Record<string, unknown>): Failure => ({
  ok: false,
  code,
  detail,
  ...(extras ? { extras } : {}),
});

/** Who is calling, as established by the Worker from a verified credential. */
export interface Caller {
  /** "apikey": a machine client; `sub` is the key's id and `keyHash` the SHA-256 of its secret. */
  kind: "user" | "admin" | "apikey";
  sub: string;
  /** Roles named in the token: they may only narrow the member's roles. */
  tokenRoles: string[] | null;
  /** Platform admins acting inside a tenant state why (X-Silo-Reason). */
  reason: string | null;
  requestId: string;
  keyHash?: string;
}

export type TenantStatus = "active" | "suspended" | "cancelled";

export interface Limits {
  requestsPerSecond: number;
  burst: number;
  maxRecords: number;
  maxStorageBytes: number;
  maxMembers: number;
  maxCollections: number;
  maxRequestsPerMonth: number;
  maxBackups: number;
}

export interface Settings {
  softDeleteDays: number;
  historyDays: number;
  auditRetentionDays: number;
  /** Days the change log keeps its events. */
  changeLogDays: number;
  allowedFileTypes: string[];
  maxFileBytes: number;
  branding: Record<string, unknown>;
  autoJoinRole: string | null;
}

/** The tenant's configuration as the control plane pushes it (effective limits, not overrides). */
export interface TenantConfig {
  id: string;
  name: string;
  status: TenantStatus;
  tier: string;
  jurisdiction: string | null;
  limits: Limits;
  settings: Settings;
  legalHold: boolean;
  wrappedKey: string;
  /** Earlier wrapped data keys still needed to read values not yet re-encrypted. */
  retiredKeys?: string[];
  /** Monotonic; a push older than what the object holds is ignored. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface MeView {
  tenant: { id: string; name: string; status: TenantStatus; tier: string };
  principal: { sub: string; kind: Caller["kind"]; roles: string[]; permissions: string[] };
  limits: Limits;
  usage: Record<string, number>;
}
