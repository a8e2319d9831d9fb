// Tenant data export (and import into an empty tenant): bundles written to R2 by the tenant's
// object a chunk per alarm; status, manifest and parts are read here.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { JobSchema as JobView } from "../../durable-objects/contract/jobs";
import { tenantStorage } from "../../durable-objects/storage/tenant-storage";
import { adminOnly, originOf, principalActor, requireAdmin } from "../caller";
import type { AppEnv } from "../context";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { tenantObjectKeys } from "../control/object-keys";
import { getTenant } from "../control/tenant-service";
import { ApiError, notFound } from "../errors";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { platformClient, tenantClient } from "../tenant-client";
import { LimitsSchema, SettingsSchema, TenantIdSchema, TenantStatusSchema } from "./tenant-schemas";

export const JobSchema = JobView.openapi("ExportJob");

const ManifestSchema = z
  .object({
    format: z.literal("silo-export/1"),
    tenant: z.string(),
    exportId: z.string(),
    kind: z.enum(["export", "backup"]),
    schemaVersion: z.number().int(),
    createdAt: z.string(),
    completedAt: z.string(),
    collections: z.array(z.object({ name: z.string(), records: z.number(), versions: z.number() })),
    counts: z.record(z.string(), z.number()),
    auditHead: z.object({ seq: z.number(), hash: z.string() }).nullable(),
    asOf: z.string().optional().openapi({ description: "The instant every part is consistent as of." }),
    changeSeq: z.number().int().optional().openapi({ description: "The last change-log seq the bundle covers." }),
    parts: z.array(
      z.object({
        name: z.string(),
        rows: z.number(),
        bytes: z.number(),
        sha256: z.string(),
        path: z.string().optional(),
      }),
    ),
  })
  .openapi("ExportManifest", { description: "manifest.json: the bundle's parts with their checksums." });

const ConfigPartSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: TenantStatusSchema,
    tier: z.string(),
    jurisdiction: z.string().nullable(),
    limits: LimitsSchema,
    settings: SettingsSchema,
    legalHold: z.boolean(),
    retiredKeys: z.array(z.string()).optional(),
    revision: z.number(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("ExportConfigPart", { description: "settings.json: the tenant's configuration (without its data key)." });

const CollectionsPartSchema = z
  .array(z.looseObject({ name: z.string(), fields: z.array(z.record(z.string(), z.unknown())) }))
  .openapi("ExportCollectionsPart", { description: "collections.json: every collection's definition." });

const IdParam = TenantIdSchema.openapi({ param: { name: "id", in: "path" } });
const ExportId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,80}$/)
  .openapi({ param: { name: "exportId", in: "path" } });

/** Platform admins, or the tenant's own members holding the `export` permission. */
async function mayExport(c: Context<AppEnv>, id: string) {
  if (c.get("principal").kind === "admin") {
    const tenant = await getTenant(c.env, id);
    if (tenant.status === "deleted") throw notFound(`Tenant '${id}' not found.`);
    return;
  }
  const t = await tenantClient(c, id);
  await t.call((s, caller) => s.checkExport(caller));
}

export const exportRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/export",
      tags: ["Lifecycle"],
      summary: "Start an export of the tenant's data (written in chunks; poll its status)",
      security: bearerSecurity,
      request: {
        params: z.object({ id: IdParam }),
        body: { ...jsonBody(z.strictObject({ copyFiles: z.boolean().default(false) })), required: false },
      },
      responses: { 202: jsonResponse(JobSchema, "The export, pending."), ...commonErrors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await mayExport(c, id);
      const copyFiles = (c.req.valid("json") as { copyFiles?: boolean } | undefined)?.copyFiles ?? false;
      const job = await platformClient(c.env, id).call((s) => s.startJob({ kind: "export", copyFiles }));
      const principal = c.get("principal");
      if (principal.kind === "admin") {
        await adminAuditInsert(controlDb(c.env), requireAdmin(c), "tenant.export", id, { exportId: job.id });
      }
      return c.json(job, 202);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/exports/{exportId}",
      tags: ["Lifecycle"],
      summary: "An export's status, counts and parts (with checksums)",
      security: bearerSecurity,
      request: { params: z.object({ id: IdParam, exportId: ExportId }) },
      responses: { 200: jsonResponse(JobSchema, "The export."), ...commonErrors },
    }),
    async (c) => {
      const { id, exportId } = c.req.valid("param");
      await mayExport(c, id);
      return c.json(await platformClient(c.env, id).call((s) => s.job(exportId)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/tenants/{id}/exports/{exportId}/download",
      tags: ["Lifecycle"],
      summary: "Download one part of a completed export (manifest.json by default)",
      security: bearerSecurity,
      request: {
        params: z.object({ id: IdParam, exportId: ExportId }),
        query: z.object({ part: z.string().max(300).default("manifest.json") }),
      },
      responses: {
        200: {
          description:
            "The part, streamed as an attachment: the .json parts as JSON, record, history and audit chunks as NDJSON (one row a line), copied files (blobs/...) with their own type.",
          headers: {
            ETag: { description: "The part's ETag.", schema: { type: "string" }, required: true },
            "Content-Disposition": { description: "attachment", schema: { type: "string" }, required: true },
          },
          content: {
            "application/json": { schema: z.union([ManifestSchema, ConfigPartSchema, CollectionsPartSchema]) },
            "application/x-ndjson": { schema: { type: "string" } },
            "*/*": { schema: { type: "string", format: "binary" } },
          },
        },
        ...commonErrors,
      },
    }),
    async (c) => {
      const { id, exportId } = c.req.valid("param");
      const { part } = c.req.valid("query");
      await mayExport(c, id);
      const job = await platformClient(c.env, id).call((s) => s.job(exportId));
      if (job.status !== "completed" || !(part === "manifest.json" || job.parts.some((p) => p.name === part))) {
        throw notFound(`No part '${part}' in a completed export '${exportId}'.`);
      }
      const area = job.kind === "backup" ? "backups" : "exports";
      const keys = await tenantObjectKeys(c.env, id);
      const object = await tenantStorage(c.env.FILES, id, keys).getPart({ area, id: exportId }, part);
      if (!object) throw notFound(`No part '${part}'.`);
      // Exports hold the tenant's raw data: each part downloaded is on the tenant's trail.
      await platformClient(c.env, id).call((s) =>
        s.noteAccess({
          action: "export.downloaded",
          actor: principalActor(c.get("principal")),
          resource: `export:${exportId}`,
          details: { part, requestId: c.get("requestId") },
          ...originOf(c),
        }),
      );
      return new Response(object.body, {
        headers: {
          "content-type": object.contentType,
          "content-disposition": `attachment; filename="${part.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
          "x-content-type-options": "nosniff",
          "content-length": String(object.size),
          etag: object.etag,
        },
      });
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/tenants/{id}/import",
      tags: ["Lifecycle"],
      summary: "Load another tenant's completed export or backup into this empty tenant (migration, fork)",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: {
        params: z.object({ id: IdParam }),
        body: jsonBody(
          z
            .strictObject({
              fromTenant: TenantIdSchema,
              exportId: z
                .string()
                .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,80}$/)
                .optional(),
              backupId: z
                .string()
                .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,80}$/)
                .optional(),
            })
            .refine((b) => Boolean(b.exportId) !== Boolean(b.backupId), {
              message: "give exactly one of exportId and backupId",
            }),
        ),
      },
      responses: { 202: jsonResponse(JobSchema, "The import, pending."), ...commonErrors, ...conflictError },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const { id } = c.req.valid("param");
      const { fromTenant, exportId, backupId } = c.req.valid("json");
      const bundleId = (exportId ?? backupId) as string;
      const kind = exportId ? "export" : "backup";
      const target = await getTenant(c.env, id);
      if (target.status !== "active") throw new ApiError("conflict", `Tenant '${id}' is ${target.status}.`);
      const from = await getTenant(c.env, fromTenant);
      const source = await platformClient(c.env, fromTenant).call((s) => s.job(bundleId));
      if (source.kind !== kind || source.status !== "completed") {
        throw new ApiError("conflict", `'${bundleId}' of '${fromTenant}' is not a completed ${kind}.`);
      }
      // The source's wrapped keys let the target open its encrypted values and seal them anew.
      const wrappedKeys = [from.wrappedKey ?? "", ...from.retiredKeys].filter(Boolean);
      const area = kind === "export" ? "exports" : "backups";
      const job = await platformClient(c.env, id).call((s) =>
        s.startJob({ kind: "import", source: { tenant: fromTenant, area, id: bundleId, wrappedKeys } }),
      );
      await adminAuditInsert(controlDb(c.env), actor, "tenant.import", id, {
        fromTenant,
        [kind === "export" ? "exportId" : "backupId"]: bundleId,
        job: job.id,
      });
      return c.json(job, 202);
    },
  );
