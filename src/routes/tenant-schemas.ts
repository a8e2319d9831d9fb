// Zod schemas of the tenant management API: they validate requests and describe them in OpenAPI.

import { z } from "@hono/zod-openapi";
import { LimitsSchema as LimitsView } from "../../durable-objects/contract/config";
import { FEATURES } from "../../durable-objects/contract/features";
import { SubjectSchema } from "../../durable-objects/contract/identifiers";
import { JsonValueSchema } from "../../durable-objects/contract/result";
import { TENANT_ID_PATTERN } from "../../durable-objects/contract/tenant-id";
import { AUDIT_RETENTION_FLOOR_DAYS } from "../control/audit-floor";
import { isExternalId, MAX_EXTERNAL_ID_LENGTH } from "../control/external-ids";

export const TenantIdSchema = z.string().regex(TENANT_ID_PATTERN, "must match ^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$");

export const ExternalIdSchema = z
  .string()
  .min(1)
  .max(MAX_EXTERNAL_ID_LENGTH)
  .refine(isExternalId, {
    message:
      "must be printable, without blanks at either end, and not itself a tenant id (a claim holding a tenant id selects that tenant)",
  })
  .openapi({
    description:
      "The identity provider's organisation id whose tokens reach this tenant (Auth0 or Clerk `org_…`). Unique, set once, never reissued.",
    example: "org_9ybsU1dN2dKfDkBi",
  });

export const LimitsSchema = LimitsView.openapi("Limits");

export const LimitOverridesSchema = z
  .strictObject(Object.fromEntries(Object.entries(LimitsSchema.shape).map(([k, v]) => [k, v.nullable().optional()])))
  .openapi("LimitOverrides", { description: "Per-tenant overrides of the plan's limits; null removes one." });

const RoleName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/);

export const SettingsSchema = z
  .object({
    softDeleteDays: z.number().int().min(0).max(3650),
    historyDays: z.number().int().min(0).max(36500),
    auditRetentionDays: z.number().int().min(1).max(36500),
    changeLogDays: z.number().int().min(1).max(365),
    allowedFileTypes: z.array(z.string().min(1).max(255)).max(100),
    maxFileBytes: z
      .number()
      .int()
      .min(1)
      .max(5 * 1024 ** 4),
    branding: z.record(z.string().max(64), JsonValueSchema),
    autoJoinRole: RoleName.nullable(),
    archiveAfterDays: z.number().int().min(1).max(36500).nullable().optional(),
  })
  .openapi("Settings");

export const SettingsPatchSchema = SettingsSchema.partial()
  .strict()
  .refine((s) => JSON.stringify(s.branding ?? {}).length <= 4096, {
    message: "branding is limited to 4 KB",
    path: ["branding"],
  })
  .openapi("SettingsPatch");

const MimePattern = z
  .string()
  .max(255)
  .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/i, "must be a MIME type or type/*");

/** What a tenant's own settings:manage holders may change (PATCH /v1/settings), with its bounds. */
export const TenantSettingsPatchSchema = z
  .strictObject({
    softDeleteDays: z.number().int().min(0).max(365).optional(),
    historyDays: z.number().int().min(1).max(3650).optional(),
    auditRetentionDays: z
      .number()
      .int()
      .min(AUDIT_RETENTION_FLOOR_DAYS, `must be at least ${AUDIT_RETENTION_FLOOR_DAYS} days (7 years)`)
      .max(36500)
      .optional(),
    changeLogDays: z.number().int().min(1).max(365).optional(),
    allowedFileTypes: z.array(MimePattern).max(100).optional(),
    maxFileBytes: z
      .number()
      .int()
      .min(1)
      .max(5 * 1024 ** 4)
      .optional(),
    autoJoinRole: RoleName.refine((r) => r !== "owner", "owners are never made by joining")
      .nullable()
      .optional(),
    branding: z.record(z.string().max(64), JsonValueSchema).optional(),
    archiveAfterDays: z.number().int().min(1).max(36500).nullable().optional(),
  })
  .refine((s) => JSON.stringify(s.branding ?? {}).length <= 4096, {
    message: "branding is limited to 4 KB",
    path: ["branding"],
  })
  .refine((s) => Object.keys(s).length > 0, { message: "name at least one setting to change" })
  .openapi("TenantSettingsPatch", {
    example: { softDeleteDays: 14, allowedFileTypes: ["image/*", "application/pdf"] },
  });

export const JurisdictionSchema = z.enum(["eu", "fedramp"]).nullable();

export const TenantStatusSchema = z.enum(["active", "trial", "suspended", "cancelled", "deleted"]);

const FeatureSchema = z.enum(FEATURES);
const IsoTime = z.iso.datetime({ offset: true });

export const SubscriptionSchema = z
  .object({
    tier: z.string(),
    startDate: z.string().nullable(),
    endDate: z.string().nullable(),
    features: z
      .array(FeatureSchema)
      .openapi({ description: "What the tenant has: its plan's features and the extra ones." }),
    extraFeatures: z
      .array(FeatureSchema)
      .openapi({ description: "Features granted beyond the plan's (an admin sets them)." }),
  })
  .openapi("Subscription");

const SubscriptionPatchSchema = z
  .strictObject({
    startDate: IsoTime.nullable().optional(),
    endDate: IsoTime.nullable().optional(),
    extraFeatures: z.array(FeatureSchema).max(FEATURES.length).optional(),
  })
  .openapi("SubscriptionPatch");

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: TenantStatusSchema,
    tier: z.string(),
    jurisdiction: JurisdictionSchema,
    limits: LimitsSchema,
    limitOverrides: z.record(z.string(), z.number()),
    settings: SettingsSchema,
    legalHold: z.boolean(),
    owner: z.string(),
    externalId: z.string().nullable(),
    parent: z.string().nullable().openapi({ description: "The tenant this one belongs to (organisations)." }),
    createdAt: z.string(),
    updatedAt: z.string(),
    cancelledAt: z.string().nullable(),
    trialEndsAt: z
      .string()
      .nullable()
      .openapi({ description: "When the trial ends (status trial; kept once it lapsed)." }),
    subscription: SubscriptionSchema,
    config: z
      .object({ version: z.number().int(), applied: z.number().int() })
      .openapi({ description: "The registry's configuration version and the one the tenant's object applied." }),
  })
  .openapi("Tenant");

export const CreateTenantSchema = z
  .strictObject({
    id: TenantIdSchema.optional(),
    name: z.string().trim().min(1).max(200),
    tier: z.string().min(1).max(40).default("basic"),
    jurisdiction: JurisdictionSchema.optional(),
    externalId: ExternalIdSchema.optional(),
    parent: TenantIdSchema.optional().openapi({
      description: "Makes this a child of that tenant (at most three levels, never a cycle).",
    }),
    owner: z.strictObject({
      sub: SubjectSchema,
      email: z.email().max(320).nullable().optional(),
      displayName: z.string().max(200).nullable().optional(),
    }),
    settings: SettingsPatchSchema.optional(),
    limits: LimitOverridesSchema.optional(),
    status: z
      .enum(["active", "trial"])
      .optional()
      .openapi({ description: "trial: a trial of trialDays (default 14)." }),
    trialDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .optional()
      .openapi({ description: "Starts a trial this many days long." }),
    subscription: SubscriptionPatchSchema.optional(),
  })
  .openapi("CreateTenant", {
    example: { id: "acme", name: "Acme", tier: "pro", externalId: "org_9ybsU1dN2dKfDkBi", owner: { sub: "alice" } },
  });

export const UpdateTenantSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    tier: z.string().min(1).max(40).optional(),
    settings: SettingsPatchSchema.optional(),
    legalHold: z.boolean().optional(),
    limits: LimitOverridesSchema.optional(),
    /** Set once while unset; the same value again is a no-op, another one a conflict. */
    externalId: ExternalIdSchema.optional(),
    trialEndsAt: IsoTime.nullable().optional().openapi({
      description:
        "null converts a trial (for good; a lapsed one then resumes with POST .../resume); a time moves its end (a past one ends it at the next reconcile sweep).",
    }),
    subscription: SubscriptionPatchSchema.optional(),
    /** Moves the tenant with its subtree under another tenant; null makes it a root. */
    parent: TenantIdSchema.nullable().optional(),
  })
  .openapi("UpdateTenant", { example: { tier: "enterprise", limits: { requestsPerSecond: 5, burst: 5 } } });

export const ListTenantsQuery = z.object({
  status: TenantStatusSchema.optional(),
  tier: z.string().max(40).optional(),
  q: z.string().max(100).optional(),
  parent: TenantIdSchema.optional().openapi({ description: "Only the children of this tenant." }),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});
