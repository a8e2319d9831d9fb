// Data residency: a tenant with a jurisdiction (e.g. "eu") lives in that jurisdiction's Durable
// Object namespace. The request path must not read D1, so each isolate remembers every tenant's
// jurisdiction once it has seen it (from a registry row, or one lookup on first use).
// workerd does not implement jurisdictions locally, so they are only used when
// DO_JURISDICTIONS = "enabled" (set it in production); otherwise every tenant uses the default
// namespace and the choice is still made, and tested, by namespaceFor().
import { eq } from "drizzle-orm";
import { controlDb } from "./control/control-db";
import { tenants } from "./control/schema";

const known = new Map<string, string | null>();
const MAX_REMEMBERED = 50_000;

export const jurisdictionsEnabled = (env: { DO_JURISDICTIONS?: string }) => env.DO_JURISDICTIONS === "enabled";

export function rememberJurisdiction(tenantId: string, jurisdiction: string | null): void {
  if (known.size >= MAX_REMEMBERED) known.clear();
  known.set(tenantId, jurisdiction);
}

/** The namespace holding a tenant of this jurisdiction. */
export function namespaceFor<N extends { jurisdiction(j: DurableObjectJurisdiction): N }>(
  namespace: N,
  jurisdiction: string | null,
  enabled: boolean,
): N {
  if (!jurisdiction || !enabled) return namespace;
  return namespace.jurisdiction(jurisdiction as DurableObjectJurisdiction);
}

/** Makes sure the tenant's jurisdiction is known before its stub is needed (data plane). */
export async function resolveJurisdiction(env: Env, tenantId: string): Promise<void> {
  if (!jurisdictionsEnabled(env) || known.has(tenantId)) return;
  const row = await controlDb(env)
    .select({ j: tenants.jurisdiction })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .get();
  rememberJurisdiction(tenantId, row?.j ?? null);
}

export function jurisdictionOf(env: Env, tenantId: string): string | null {
  if (!jurisdictionsEnabled(env)) return null;
  if (!known.has(tenantId)) throw new Error(`jurisdiction of ${tenantId} not resolved before use`);
  return known.get(tenantId) ?? null;
}
