// Organisations in the registry: a tenant's `parent`, at most three levels, never a cycle. The tree
// lives in D1 only; the Worker reads it when a request crosses tenants (org routes, X-Silo-Tenant
// naming a descendant, reference reads), never on a tenant's own data path.
import { sql } from "drizzle-orm";
import { ApiError, invalid } from "../errors";
import type { RegistryStatus } from "./schema";

/** Levels of an organisation: a root, its children and their children. */
export const MAX_LEVELS = 3;
/** Bound of every walk, so even a damaged registry cannot make one loop. */
const WALK = MAX_LEVELS + 2;

/** The tenant's ancestors, nearest first (none for a root or an unknown id). */
export async function ancestorsOf(env: Env, id: string): Promise<string[]> {
  const { results } = await env.CONTROL_DB.prepare(
    `WITH RECURSIVE up(id, parent, depth) AS (
       SELECT id, parent, 0 FROM tenants WHERE id = ?1
       UNION ALL SELECT t.id, t.parent, up.depth + 1 FROM tenants t JOIN up ON t.id = up.parent WHERE up.depth < ${WALK})
     SELECT id FROM up WHERE depth > 0 ORDER BY depth`,
  )
    .bind(id)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

export async function isDescendant(env: Env, ancestor: string, id: string): Promise<boolean> {
  return id !== ancestor && (await ancestorsOf(env, id)).includes(ancestor);
}

export interface DescendantRow {
  id: string;
  name: string;
  status: RegistryStatus;
  /** Set while the tenant is on trial (its API status is then `trial`). */
  trialEndsAt: string | null;
  tier: string;
  parent: string;
  jurisdiction: string | null;
  depth: number;
  usage: Record<string, number>;
  reportedAt: string | null;
  createdAt: string;
}

const DESCENDANTS = `WITH RECURSIVE down(id, depth) AS (
    SELECT id, 1 FROM tenants WHERE parent = ?1
    UNION ALL SELECT t.id, down.depth + 1 FROM tenants t JOIN down ON t.parent = down.id WHERE down.depth < ${WALK})`;

/** A page of the tenant's live descendants (not deleted, not still provisioning), by id. */
export async function descendantsOf(env: Env, id: string, after: string, limit: number): Promise<DescendantRow[]> {
  const { results } = await env.CONTROL_DB.prepare(
    `${DESCENDANTS}
     SELECT t.id, t.name, t.status, t.tier, t.parent, t.jurisdiction, down.depth, t.usage, t.reported_at AS reportedAt,
            t.created_at AS createdAt, t.trial_ends_at AS trialEndsAt
     FROM down JOIN tenants t ON t.id = down.id
     WHERE t.status NOT IN ('provisioning', 'deleted') AND t.id > ?2 ORDER BY t.id LIMIT ?3`,
  )
    .bind(id, after, limit)
    .all<Omit<DescendantRow, "usage"> & { usage: string }>();
  return results.map((r) => ({ ...r, usage: JSON.parse(r.usage || "{}") as Record<string, number> }));
}

/** How many live descendants the tenant has. */
export async function descendantCount(env: Env, id: string): Promise<number> {
  const row = await env.CONTROL_DB.prepare(
    `${DESCENDANTS} SELECT count(*) AS n FROM down JOIN tenants t ON t.id = down.id WHERE t.status <> 'deleted'`,
  )
    .bind(id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Levels below the tenant (0: no children). */
async function heightOf(env: Env, id: string): Promise<number> {
  const row = await env.CONTROL_DB.prepare(`${DESCENDANTS} SELECT coalesce(max(depth), 0) AS h FROM down`)
    .bind(id)
    .first<{ h: number }>();
  return row?.h ?? 0;
}

/**
 * Refuses a parent that would break the tree: unknown (400), the tenant itself or one of its
 * descendants (409, a cycle), or deeper than three levels with the tenant's own subtree (409).
 */
export async function checkParent(env: Env, id: string, parent: string): Promise<void> {
  const row = await env.CONTROL_DB.prepare("SELECT status FROM tenants WHERE id = ?1")
    .bind(parent)
    .first<{ status: RegistryStatus }>();
  if (!row || row.status === "deleted" || row.status === "provisioning") {
    throw invalid(`Parent tenant '${parent}' does not exist.`, { field: "parent" });
  }
  const chain = await ancestorsOf(env, parent);
  if (parent === id || chain.includes(id)) {
    throw new ApiError("conflict", `Tenant '${id}' cannot be its own ancestor.`, { field: "parent", reason: "cycle" });
  }
  const levels = chain.length + 2 + (await heightOf(env, id));
  if (levels > MAX_LEVELS) {
    throw new ApiError("conflict", `An organisation has at most ${MAX_LEVELS} levels; this parent makes ${levels}.`, {
      field: "parent",
      reason: "depth",
      limit: MAX_LEVELS,
      current: levels,
    });
  }
}

/**
 * The condition under which a tenant may take `parent` at the moment of the write: `parent` is not
 * the tenant and has no ancestor that is the tenant. Added to the update, so two concurrent moves
 * can never close a cycle between them (D1 runs one statement at a time).
 */
export const noCycle = (id: string, parent: string) =>
  sql`NOT EXISTS (WITH RECURSIVE up(id, depth) AS (SELECT ${parent}, 0 UNION ALL SELECT t.parent, up.depth + 1 FROM tenants t JOIN up ON t.id = up.id WHERE t.parent IS NOT NULL AND up.depth < ${WALK}) SELECT 1 FROM up WHERE up.id = ${id})`;
