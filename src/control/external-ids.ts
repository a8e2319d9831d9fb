// Organisation ids of identity providers (Auth0 and Clerk `org_…`, any id that is not itself a
// tenant id) mapped to the tenants registered with them as `externalId`. The request path must
// not read D1 on every request, so each isolate remembers answers in a bounded cache: a mapping
// for POSITIVE_TTL_MS, an unknown id for NEGATIVE_TTL_MS (so a flood of unknown ids costs one
// read per id and interval). External ids are never reissued (the registry row, with its
// external id, is kept as a tombstone), so a remembered mapping can go stale only towards a
// tenant that is being deleted, whose own object refuses every request anyway.
import { and, eq, ne } from "drizzle-orm";
import { isTenantId } from "../../durable-objects/contract/tenant-id";
import { controlDb } from "./control-db";
import { tenants } from "./schema";

export const MAX_EXTERNAL_ID_LENGTH = 255;
export const POSITIVE_TTL_MS = 5 * 60_000;
export const NEGATIVE_TTL_MS = 10_000;
const MAX_REMEMBERED = 10_000;

// Printable: no control, format, surrogate, private-use or unassigned code points; no blanks at
// either end (a claim never has them, a pasted id often does).
const UNPRINTABLE = /\p{C}/u;

/** An organisation id: 1–255 printable characters, and not a tenant id (that selects itself). */
export const isExternalId = (value: unknown): value is string =>
  typeof value === "string" &&
  value.length > 0 &&
  value.length <= MAX_EXTERNAL_ID_LENGTH &&
  value.trim() === value &&
  !UNPRINTABLE.test(value) &&
  !isTenantId(value);

const remembered = new Map<string, { tenantId: string | null; until: number }>();

// Lookups in flight: concurrent first requests for one id share a single D1 read.
const pending = new Map<string, Promise<string | null>>();

function remember(externalId: string, tenantId: string | null): void {
  // Oldest first out: a Map iterates in insertion order, and a refreshed entry is re-inserted.
  remembered.delete(externalId);
  if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
  remembered.set(externalId, { tenantId, until: Date.now() + (tenantId ? POSITIVE_TTL_MS : NEGATIVE_TTL_MS) });
}

/** Drops what this isolate remembers about an external id (after it is assigned or retired). */
export function forgetExternalId(externalId: string): void {
  remembered.delete(externalId);
  // A lookup already in flight may have read the registry before the change: not remembered.
  pending.delete(externalId);
}

/** The tenant registered with this external id, or null; deleted tenants map to nothing. */
export async function tenantForExternalId(env: Env, externalId: string): Promise<string | null> {
  const hit = remembered.get(externalId);
  if (hit && hit.until > Date.now()) return hit.tenantId;
  const inFlight = pending.get(externalId);
  if (inFlight) return inFlight;
  const lookup: Promise<string | null> = lookUp(env, externalId).then(
    (tenantId) => {
      if (pending.get(externalId) === lookup) {
        pending.delete(externalId);
        remember(externalId, tenantId);
      }
      return tenantId;
    },
    (err: unknown) => {
      if (pending.get(externalId) === lookup) pending.delete(externalId);
      throw err;
    },
  );
  pending.set(externalId, lookup);
  return lookup;
}

async function lookUp(env: Env, externalId: string): Promise<string | null> {
  const row = await controlDb(env)
    .select({ id: tenants.id })
    .from(tenants)
    .where(and(eq(tenants.externalId, externalId), ne(tenants.status, "deleted"), ne(tenants.status, "provisioning")))
    .get();
  return row?.id ?? null;
}
