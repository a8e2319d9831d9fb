// Recovery (DESIGN §11): the tenant's backups (list; take one now), restoring one as a job in the
// tenant's object (the data plane answers 503 meanwhile), its status, and the platform's
// point-in-time recovery (production only).
import { createRoute, z } from "@hono/zod-openapi";
import { BackupSchema, JobSchema as JobView } from "../../durable-objects/contract/jobs";
import { legalHoldFailure } from "../../durable-objects/contract/legal-hold";
import { adminOnly, requireAdmin } from "../caller";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { adoptRestoredSettings } from "../control/restored-settings";
import { getTenant } from "../control/tenant-service";
import { ApiError, notFound } from "../errors";
import {
  bearerSecurity,
  commonErrors,
  conflictError,
  jsonBody,
  jsonResponse,
  listOf,
  newRouter,
  problem,
} from "../openapi";
import { afterOf, cursorAfter, PageQuery } from "../page-query";
import { platformClient, tenantClient } from "../tenant-client";
import { TenantIdSchema } from "./tenant-schemas";

const Job = JobView.openapi("ExportJob");
const Backup = BackupSchema.openapi("Backup");
const IdParam = TenantIdSchema.openapi({ param: { name: "id", in: "path" } });
const JobId = (name: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,80}$/)
    .openapi({ param: { name, in: "path" } });

/** The tenant must exist and not be deleted (platform admins). */
async function liveTenant(env: Env, id: string) {
  const tenant = await getTenant(env, id);
  if (tenant.status === "deleted") throw notFound(`Tenant '${id}' not found.`);
  return tenant;
}

export const backupRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/backups",
      tags: ["Recovery"],
      summary: "The tenant's backups, newest first (platform admin, or the tenant's own owner/admin)",
      security: bearerSecurity,
      request: { params: z.object({ id: IdParam }), query: PageQuery },
      responses: { 200: jsonResponse(listOf(Backup), "A page of backups."), ...commonErrors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const { cursor, limit } = c.req.valid("query");
      if (c.get("principal").kind === "admin") await liveTenant(c.env, id);
      else {
        const t = await tenantClient(c, id);
        await t.call((s, caller) => s.check(caller, "tenant:read"));
      }
      const page = await platformClient(c.env, id).call((s) => s.listBackups(afterOf(cursor), limit));
      return c.json({ items: page.items, nextCursor: cursorAfter(page.next) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/backups",
      tags: ["Recovery"],
      summary: "Take a backup now (written in chunks with copies of the files; poll its status)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: z.object({ id: IdParam }) },
      responses: { 202: jsonResponse(Job, "The backup, pending."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id } = c.req.valid("param");
      await liveTenant(c.env, id);
      const job = await platformClient(c.env, id).call((s) => s.startJob({ kind: "backup", onDemand: true }));
      await adminAuditInsert(controlDb(c.env), actor, "tenant.backup", id, { backupId: job.id });
      return c.json(job, 202);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/backups/{backupId}/restore",
      tags: ["Recovery"],
      summary: "Restore the tenant to a backup (a job; the tenant answers 503 until it is done)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: z.object({ id: IdParam, backupId: JobId("backupId") }) },
      responses: { 202: jsonResponse(Job, "The restore, pending."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id, backupId } = c.req.valid("param");
      const tenant = await liveTenant(c.env, id);
      if (tenant.status !== "active") throw new ApiError("conflict", `Tenant '${id}' is ${tenant.status}.`);
      // The registry's hold counts even before its push has reached the object (the object asks too).
      const held = legalHoldFailure(tenant, "Restoring a backup");
      if (held) throw ApiError.from(held);
      const job = await platformClient(c.env, id).call((s) => s.startJob({ kind: "restore", backupId }));
      await adminAuditInsert(controlDb(c.env), actor, "tenant.restore_backup", id, { backupId, restoreId: job.id });
      return c.json(job, 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/restores/{restoreId}",
      tags: ["Recovery"],
      summary: "A restore's status (a completed one has brought the registry's settings to the backup's)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: z.object({ id: IdParam, restoreId: JobId("restoreId") }) },
      responses: { 200: jsonResponse(Job, "The restore."), ...commonErrors },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id, restoreId } = c.req.valid("param");
      await liveTenant(c.env, id);
      const job = await platformClient(c.env, id).call((s) => s.job(restoreId));
      if (job.kind !== "restore") throw notFound(`No restore '${restoreId}'.`);
      if (job.status === "completed" && job.backupId) {
        await adoptRestoredSettings(c.env, actor, id, job.backupId);
      }
      return c.json(job, 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/restore-point",
      tags: ["Recovery"],
      summary: "Restore the tenant's object to a time in the last 30 days (platform point-in-time recovery)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: {
        params: z.object({ id: IdParam }),
        body: jsonBody(z.strictObject({ at: z.iso.datetime({ offset: true }) })),
      },
      responses: {
        202: jsonResponse(z.object({ bookmark: z.string(), at: z.string() }), "Set: the object restarts on it."),
        ...commonErrors,
        ...conflictError,
        501: problem("Point-in-time recovery needs the platform's storage (not_available_locally)."),
      },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id } = c.req.valid("param");
      const { at } = c.req.valid("json");
      const held = legalHoldFailure(await liveTenant(c.env, id), "Restoring to a point in time");
      if (held) throw ApiError.from(held);
      const point = await platformClient(c.env, id).call((s) => s.restorePoint(at));
      await adminAuditInsert(controlDb(c.env), actor, "tenant.restore_point", id, point);
      return c.json(point, 202);
    },
  );
