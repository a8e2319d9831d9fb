// The change feed's shapes (DESIGN §10): one event per committed change, and the pull query.
import { z } from "zod";
import type { ApiRecord } from "./records";
import { JsonValueSchema } from "./result";

export const CHANGE_TYPES = [
  "record.created",
  "record.updated",
  "record.deleted",
  "record.restored",
  "collection.changed",
  "file.put",
  "file.deleted",
  "member.changed",
] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const ChangeEventSchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  type: z.enum(CHANGE_TYPES),
  collection: z.string().nullable(),
  /** The record's id, the file's path or the member's sub; null for collection events. */
  id: z.string().nullable(),
  version: z.number().int().nullable(),
  actor: z.string(),
  record: z.record(z.string(), JsonValueSchema).optional(),
});
export interface ChangeEvent {
  seq: number;
  at: string;
  type: ChangeType;
  collection: string | null;
  id: string | null;
  version: number | null;
  actor: string;
  record?: ApiRecord;
}

export const ChangeQuerySchema = z.object({
  since: z.string().max(20).optional(),
  collection: z.string().max(64).optional(),
  limit: z.string().max(4).optional(),
});
export type ChangeQuery = z.infer<typeof ChangeQuerySchema>;

// ---- Webhooks ----

export const WebhookInputSchema = z.strictObject({
  url: z.string().min(1).max(2000),
  /** Event types to send, or null for every type. */
  events: z.array(z.enum(CHANGE_TYPES)).min(1).nullable().default(null),
  /** Collections whose events to send, or null for all (non-record events have no collection). */
  collections: z.array(z.string().max(64)).min(1).max(100).nullable().default(null),
});
export type WebhookInput = z.infer<typeof WebhookInputSchema>;

export const WebhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()).nullable(),
  collections: z.array(z.string()).nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
});

export const DeliverySchema = z.object({
  id: z.number().int(),
  seq: z.number().int(),
  type: z.string(),
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number().int(),
  nextAt: z.string().nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
export type DeliveryView = z.infer<typeof DeliverySchema>;
