// Audit views: the tenant's hash-chained events, their query, and the chain's verification.
import { z } from "zod";
import type { JsonObject } from "./result";
import { JsonValueSchema } from "./result";

export const AuditEventSchema = z.object({
  seq: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  resource: z.string(),
  success: z.boolean(),
  details: z.record(z.string(), JsonValueSchema),
  hash: z.string(),
  prevHash: z.string(),
  ip: z.string().nullable().optional(),
  userAgent: z.string().nullable().optional(),
});
export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  resource: string;
  success: boolean;
  details: JsonObject;
  hash: string;
  prevHash: string;
  /** Where the request came from (CF-Connecting-IP, User-Agent); hashed with the event when present. */
  ip?: string | null;
  userAgent?: string | null;
}

export const AuditQuerySchema = z.object({
  action: z.string().max(100).optional(),
  actor: z.string().max(300).optional(),
  since: z.string().max(40).optional(),
  until: z.string().max(40).optional(),
  cursor: z.string().max(40).optional(),
  limit: z.string().max(4).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const VerificationSchema = z.object({ ok: z.boolean(), count: z.number(), brokenAt: z.number().optional() });
export type Verification = { ok: true; count: number } | { ok: false; brokenAt: number; count: number };

/** An access the Worker saw and the tenant's trail records (buffered, like audited reads). */
export interface AccessNote {
  action: "export.downloaded" | "auth.refused";
  actor: string;
  resource: string;
  details: JsonObject;
  ip: string | null;
  userAgent: string | null;
}
