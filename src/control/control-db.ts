// The control-plane database handle and the admin audit writer.
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type ControlDb = ReturnType<typeof controlDb>;

export const controlDb = (env: Env) => drizzle(env.CONTROL_DB, { schema });

/** Who performs an admin action, for the admin audit. */
export interface AdminActor {
  sub: string;
  requestId: string;
  /** How the trails name an actor who is not a platform admin (a tenant's own user: "user:alice"). */
  name?: string;
}

export const actorName = (actor: AdminActor) => actor.name ?? `admin:${actor.sub}`;

/** An insert of one admin audit row, to batch with the change it records. */
export function adminAuditInsert(
  db: ControlDb,
  actor: AdminActor,
  action: string,
  target: string | null,
  details: Record<string, unknown> = {},
  success = true,
) {
  return db.insert(schema.adminAudit).values({
    at: new Date().toISOString(),
    actor: actorName(actor),
    action,
    target,
    success,
    details,
    requestId: actor.requestId,
  });
}
