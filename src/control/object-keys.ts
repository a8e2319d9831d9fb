// The keys that open a tenant's sealed R2 objects for the control plane's own reads (an export's
// download, a restored backup's settings): its data keys, unwrapped from the registry row.
import { unwrapDataKey } from "../../durable-objects/contract/wrapped-key";
import { type ObjectKeys, objectKeysOf } from "../../durable-objects/storage/object-seal";
import { getTenant } from "./tenant-service";

export async function tenantObjectKeys(env: Env, tenantId: string): Promise<ObjectKeys> {
  const row = await getTenant(env, tenantId);
  const wrapped = [row.wrappedKey ?? "", ...row.retiredKeys].filter(Boolean);
  return objectKeysOf(wrapped.map((w) => unwrapDataKey(env, w)));
}
