// Access control views and inputs: members, roles, API keys and record shares.
import { z } from "zod";
import { SubjectSchema } from "./identifiers";

/** Record classifications, lowest first; a role's clearance is one of them. */
export const CLASSIFICATIONS = ["public", "internal", "confidential", "restricted"] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

/** The permission catalogue. Every data-plane route checks one permission. */
export const PERMISSIONS = [
  "records:read",
  "records:write",
  "collections:manage",
  "files:read",
  "files:write",
  "members:manage",
  "audit:read",
  "pii:read",
  "keys:manage",
  "settings:manage",
  "tenant:read",
  "usage:read",
  "export",
  /** Managing the tenant's organisation: its descendant tenants (DESIGN §13). */
  "org:manage",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What an org:manage holder's acts on descendants are called in the managing tenant's audit. */
export const ORG_ACTIONS = [
  "org.data_access",
  "org.tenant_create",
  "org.tenant_suspend",
  "org.tenant_resume",
  "org.query",
] as const;
export type OrgAction = (typeof ORG_ACTIONS)[number];

export const RoleNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/);

export const MemberSchema = z.object({
  sub: z.string(),
  roles: z.array(z.string()),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type MemberView = z.infer<typeof MemberSchema>;

export const RoleViewSchema = z.object({
  name: z.string(),
  builtin: z.boolean(),
  permissions: z.array(z.string()),
  clearance: z.enum(CLASSIFICATIONS),
});
export type RoleView = z.infer<typeof RoleViewSchema>;

export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeySchema>;

export const ShareViewSchema = z.object({
  id: z.string(),
  principal: z.string(),
  permission: z.enum(["read", "write"]),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type ShareView = z.infer<typeof ShareViewSchema>;

// ---- Inputs ----

export const CreateKeySchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(PERMISSIONS)).min(1).max(PERMISSIONS.length),
  expiresAt: z.iso.datetime({ offset: true }).nullable().default(null),
});

const Roles = z.array(RoleNameSchema).min(1).max(20);

export const AddMemberSchema = z.strictObject({
  sub: SubjectSchema,
  roles: Roles,
  email: z.email().max(320).nullable().optional(),
  displayName: z.string().max(200).nullable().optional(),
});

export const PatchMemberSchema = z.strictObject({
  roles: Roles.optional(),
  email: z.email().max(320).nullable().optional(),
  displayName: z.string().max(200).nullable().optional(),
});

export const RoleSchema = z.strictObject({
  permissions: z.array(z.enum(PERMISSIONS)).max(PERMISSIONS.length),
  clearance: z.enum(CLASSIFICATIONS).default("internal"),
});

export const ShareSchema = z.strictObject({
  principal: z.string().regex(/^(user:\P{Cc}{1,255}|role:[a-z][a-z0-9_-]{0,39})$/u),
  permission: z.enum(["read", "write"]),
});
