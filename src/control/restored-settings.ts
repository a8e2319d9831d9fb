// After a restore the tenant's object holds the backup's settings; the registry row keeps the
// settings every later push carries, so it is brought to the backup's too (once: a second look
// finds them equal). Read from the backup's own settings.json.
import type { Settings, TenantConfig } from "../../durable-objects/contract/config";
import { tenantStorage } from "../../durable-objects/storage/tenant-storage";
import { type AdminActor, controlDb } from "./control-db";
import { tenantObjectKeys } from "./object-keys";
import { effectiveSettings } from "./tenant-config";
import { commit, getTenant } from "./tenant-service";

export async function adoptRestoredSettings(env: Env, actor: AdminActor, tenantId: string, backupId: string) {
  const keys = await tenantObjectKeys(env, tenantId);
  const part = await tenantStorage(env.FILES, tenantId, keys).getPart(
    { area: "backups", id: backupId },
    "settings.json",
  );
  if (!part) return;
  const restored: Settings = (JSON.parse(await part.text()) as TenantConfig).settings;
  const row = await getTenant(env, tenantId);
  if (JSON.stringify(effectiveSettings(row.settings)) === JSON.stringify(effectiveSettings(restored))) return;
  await commit(controlDb(env), env, actor, row, { settings: restored }, "tenant.settings.restore", { backupId });
}
