// A per-object cache of tenant users' principals (their member roles and the permissions those
// grant), so a read does not look its caller up in `members` and `roles` every time. Every change
// that can alter a principal passes through the object and forgets the whole cache in the same
// synchronous step as its write: member add/update/remove, role put/delete, API key create/revoke,
// erasure, import, provisioning, configuration, wipe, and (as a safety net) every platform call
// and alarm. Only found members are cached (never a denial, an admin or an API key), and the
// tenant's status is checked before the cache on every call.
import type { Permission } from "../contract/access";

export interface CachedPrincipal {
  roles: string[];
  permissions: ReadonlySet<Permission>;
  owner: boolean;
}

/** Entries kept per object before the cache starts over (a bound on its heap). */
const MAX_ENTRIES = 1000;

// Keyed by the object's storage handle (one per object instance, held by its TenantState).
const caches = new WeakMap<DurableObjectStorage, Map<string, CachedPrincipal>>();

/** The cache key: who the caller is and how its token narrows its roles. */
export const principalKey = (sub: string, tokenRoles: readonly string[] | null | undefined): string =>
  tokenRoles ? `${sub}\u0000${tokenRoles.join("\u0000")}` : sub;

export function cachedPrincipal(storage: DurableObjectStorage, key: string): CachedPrincipal | undefined {
  return caches.get(storage)?.get(key);
}

export function rememberPrincipal(storage: DurableObjectStorage, key: string, principal: CachedPrincipal): void {
  let cache = caches.get(storage);
  if (!cache) {
    cache = new Map();
    caches.set(storage, cache);
  }
  if (cache.size >= MAX_ENTRIES) cache.clear();
  cache.set(key, principal);
}

/** Forgets every cached principal of this object: call it with any write to members, roles or keys. */
export function forgetPrincipals(storage: DurableObjectStorage): void {
  caches.get(storage)?.clear();
}
