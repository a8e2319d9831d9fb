// A tenant's Durable Object stub, in its jurisdiction's namespace when jurisdictions are on.
import type { TenantDatabase } from "../durable-objects/tenant-database";
import { jurisdictionOf, jurisdictionsEnabled, namespaceFor } from "./jurisdiction";

export type TenantStub = DurableObjectStub<TenantDatabase>;

// Object ids by tenant, per namespace binding, kept for the isolate's life (bounded): an id is a
// plain value, unlike a stub (which belongs to one request). Only for the plain namespace; a
// jurisdiction's namespace is a new object on every call, its ids are derived each time.
const ids = new WeakMap<object, Map<string, DurableObjectId>>();
const MAX_IDS = 10_000;

function tenantId(ns: Env["TENANT_DB"], name: string): DurableObjectId {
  let byName = ids.get(ns);
  if (!byName) {
    byName = new Map();
    ids.set(ns, byName);
  }
  let id = byName.get(name);
  if (!id) {
    if (byName.size >= MAX_IDS) byName.clear();
    id = ns.idFromName(name);
    byName.set(name, id);
  }
  return id;
}

export function tenantStub(env: Env, tenant: string): TenantStub {
  const ns = namespaceFor(env.TENANT_DB, jurisdictionOf(env, tenant), jurisdictionsEnabled(env));
  return ns.get(ns === env.TENANT_DB ? tenantId(ns, tenant) : ns.idFromName(tenant));
}
