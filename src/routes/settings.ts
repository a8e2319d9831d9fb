// The tenant's own settings (DESIGN §9): any member reads them, settings:manage changes them.
import { createRoute } from "@hono/zod-openapi";
import type { Settings } from "../../durable-objects/contract/rpc-contract";
import { tenantRpc } from "../caller";
import { effectiveSettings } from "../control/tenant-config";
import { changeTenantSettings, checkJoinRole } from "../control/tenant-settings";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { unwrap } from "../tenant-client";
import { SettingsSchema, TenantSettingsPatchSchema } from "./tenant-schemas";

export const settingsRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/settings",
      tags: ["Settings"],
      summary: "The tenant's settings (any member)",
      security: bearerSecurity,
      responses: { 200: jsonResponse(SettingsSchema, "The settings in force."), ...commonErrors },
    }),
    async (c) => {
      const { stub, caller } = await tenantRpc(c);
      return c.json(effectiveSettings(unwrap(await stub.settings(caller)) as Settings), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/v1/settings",
      tags: ["Settings"],
      summary: "Change some settings (settings:manage); audited, kept by the control plane",
      security: bearerSecurity,
      request: { body: jsonBody(TenantSettingsPatchSchema) },
      responses: {
        200: jsonResponse(SettingsSchema, "The settings after the change."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const { stub, caller, tenantId } = await tenantRpc(c);
      unwrap(await stub.check(caller, "settings:manage"));
      const patch = c.req.valid("json");
      if (patch.autoJoinRole) await checkJoinRole(stub, caller, patch.autoJoinRole);
      return c.json(await changeTenantSettings(c.env, tenantId, caller, patch), 200);
    },
  );
