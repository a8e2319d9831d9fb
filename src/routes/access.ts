// Access control inside a tenant: members, custom roles, API keys and record shares.

import { createRoute, z } from "@hono/zod-openapi";
import {
  AddMemberSchema,
  ApiKeySchema,
  CreateKeySchema,
  MemberSchema as MemberView,
  PatchMemberSchema,
  PERMISSIONS,
  RoleSchema,
  RoleViewSchema as RoleView,
  ShareSchema,
  ShareViewSchema as ShareView,
} from "../../durable-objects/contract/access";
import { RECORD_ID_PATTERN, SubjectSchema } from "../../durable-objects/contract/identifiers";
import { mintApiKey } from "../auth/api-key";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, listOf, newRouter } from "../openapi";
import { afterOf, cursorAfter, PageQuery } from "../page-query";
import { tenantClient } from "../tenant-client";
import { CollectionName } from "./collections";

const MemberSchema = MemberView.openapi("Member");
const RoleViewSchema = RoleView.openapi("Role");
const KeySchema = ApiKeySchema.openapi("ApiKey");
const ShareViewSchema = ShareView.openapi("Share");

const Sub = z.object({ sub: SubjectSchema.openapi({ param: { name: "sub", in: "path" } }) });
const RoleName = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/)
    .openapi({ param: { name: "name", in: "path" } }),
});
const KeyId = z.object({
  id: z
    .string()
    .regex(/^[a-z0-9]{12}$/)
    .openapi({ param: { name: "id", in: "path" } }),
});
const RecordParams = z.object({
  name: CollectionName,
  id: z
    .string()
    .regex(RECORD_ID_PATTERN)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const accessRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/members",
      tags: ["Access"],
      summary: "The tenant's members in sub order (members:manage)",
      security: bearerSecurity,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listOf(MemberSchema), "A page of members."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { cursor, limit } = c.req.valid("query");
      const page = await t.call((s, caller) => s.listMembers(caller, afterOf(cursor), limit));
      return c.json({ items: page.items, nextCursor: cursorAfter(page.nextCursor) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/members",
      tags: ["Access"],
      summary: "Add a member with roles",
      security: bearerSecurity,
      request: { body: jsonBody(AddMemberSchema.openapi("AddMember", { example: { sub: "bob", roles: ["viewer"] } })) },
      responses: { 201: jsonResponse(MemberSchema, "The member."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.addMember(caller, c.req.valid("json"))), 201);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/v1/members/{sub}",
      tags: ["Access"],
      summary: "Change a member's roles or details (the last owner cannot be demoted)",
      security: bearerSecurity,
      request: { params: Sub, body: jsonBody(PatchMemberSchema.openapi("PatchMember")) },
      responses: { 200: jsonResponse(MemberSchema, "The member."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(
        await t.call((s, caller) => s.updateMember(caller, c.req.valid("param").sub, c.req.valid("json"))),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/members/{sub}",
      tags: ["Access"],
      summary: "Remove a member (not the last owner)",
      security: bearerSecurity,
      request: { params: Sub },
      responses: {
        200: jsonResponse(z.object({ removed: z.literal(true) }), "Removed."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.removeMember(caller, c.req.valid("param").sub)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/roles",
      tags: ["Access"],
      summary: "Built-in and custom roles, their permissions and clearance",
      security: bearerSecurity,
      responses: {
        200: jsonResponse(
          listOf(RoleViewSchema).extend({ permissions: z.array(z.string()) }),
          "Roles and the permission catalogue.",
        ),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(
        { items: await t.call((s, caller) => s.listRoles(caller)), nextCursor: null, permissions: [...PERMISSIONS] },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/v1/roles/{name}",
      tags: ["Access"],
      summary: "Create or change a custom role",
      security: bearerSecurity,
      request: {
        params: RoleName,
        body: jsonBody(
          RoleSchema.openapi("PutRole", { example: { permissions: ["audit:read"], clearance: "internal" } }),
        ),
      },
      responses: { 200: jsonResponse(RoleViewSchema, "The role."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(
        await t.call((s, caller) => s.putRole(caller, c.req.valid("param").name, c.req.valid("json"))),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/roles/{name}",
      tags: ["Access"],
      summary: "Delete a custom role nobody holds",
      security: bearerSecurity,
      request: { params: RoleName },
      responses: {
        200: jsonResponse(z.object({ deleted: z.literal(true) }), "Deleted."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.deleteRole(caller, c.req.valid("param").name)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/api-keys",
      tags: ["Access"],
      summary: "Create an API key; its secret is shown only in this answer",
      security: bearerSecurity,
      request: {
        body: jsonBody(
          CreateKeySchema.openapi("CreateApiKey", {
            example: { name: "etl", scopes: ["records:read"], expiresAt: null },
          }),
        ),
      },
      responses: {
        201: jsonResponse(KeySchema.extend({ key: z.string() }), "The key, with its secret."),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const minted = mintApiKey(t.tenantId);
      const body = c.req.valid("json");
      // A replayed answer carries the first key minted, not this one.
      return c.json(await t.call((s, caller) => s.createApiKey(caller, { ...minted, body })), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/api-keys",
      tags: ["Access"],
      summary: "API keys (never their secrets)",
      security: bearerSecurity,
      responses: { 200: jsonResponse(listOf(KeySchema), "Keys."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json({ items: await t.call((s, caller) => s.listApiKeys(caller)), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/api-keys/{id}",
      tags: ["Access"],
      summary: "Revoke an API key (effective on the next request)",
      security: bearerSecurity,
      request: { params: KeyId },
      responses: { 200: jsonResponse(KeySchema, "The revoked key."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.revokeApiKey(caller, c.req.valid("param").id)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/collections/{name}/records/{id}/shares",
      tags: ["Access"],
      summary: "A record's shares",
      security: bearerSecurity,
      request: { params: RecordParams },
      responses: { 200: jsonResponse(listOf(ShareViewSchema), "Shares."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      return c.json({ items: await t.call((s, caller) => s.listShares(caller, name, id)), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/collections/{name}/records/{id}/shares",
      tags: ["Access"],
      summary: "Share a record with a user or a role (owner or admin)",
      security: bearerSecurity,
      request: {
        params: RecordParams,
        body: jsonBody(ShareSchema.openapi("CreateShare", { example: { principal: "user:bob", permission: "read" } })),
      },
      responses: { 201: jsonResponse(ShareViewSchema, "The share."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id } = c.req.valid("param");
      return c.json(await t.call((s, caller) => s.addShare(caller, name, id, c.req.valid("json"))), 201);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/collections/{name}/records/{id}/shares/{shareId}",
      tags: ["Access"],
      summary: "Revoke a share (immediately)",
      security: bearerSecurity,
      request: {
        params: RecordParams.extend({
          shareId: z
            .string()
            .uuid()
            .openapi({ param: { name: "shareId", in: "path" } }),
        }),
      },
      responses: { 200: jsonResponse(z.object({ deleted: z.literal(true) }), "Revoked."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { name, id, shareId } = c.req.valid("param");
      return c.json(await t.call((s, caller) => s.removeShare(caller, name, id, shareId)), 200);
    },
  );
