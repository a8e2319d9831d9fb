// The tenant's own settings (DESIGN §9): any member reads them, settings:manage changes them.
import { createRoute } from "@hono/zod-openapi";
import { effectiveSettings } from "../control/tenant-config";
import { changeTenantSettings, checkJoinRole } from "../control/tenant-settings";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";
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
      const t = await tenantClient(c);
      return c.json(effectiveSettings(await t.call((s, caller) => s.settings(caller))), 200);
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
      const t = await tenantClient(c);
      await t.call((s, caller) => s.check(caller, "settings:manage"));
      const patch = c.req.valid("json");
      if (patch.autoJoinRole) await checkJoinRole(t, patch.autoJoinRole);
      return c.json(await changeTenantSettings(c.env, t.tenantId, t.caller, patch), 200);
    },
  );
