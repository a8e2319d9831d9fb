// A tenant object's own lifecycle: whether its database exists and is on the newest schema, the
// configuration the control plane pushed, provisioning (schema, configuration and owner, all or
// nothing) and later pushes (stale revisions ignored), each with its audit event.
import { eq } from "drizzle-orm";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { appendAudit } from "../audit/audit-chain";
import type { TenantConfig } from "../contract/config";
import { schemaTagAt } from "../contract/fleet";
import { fail, ok, type Result } from "../contract/result";
import { members, meta } from "../db/schema";
import type { Db } from "../db/store";
import migrations from "../drizzle/migrations.js";

/** When the newest bundled migration was made: drizzle records each applied one by it. */
const LATEST_MIGRATION = Math.max(...migrations.journal.entries.map((e: { when: number }) => e.when));

export interface ProvisionInput {
  config: TenantConfig;
  owner: { sub: string; email?: string | null; displayName?: string | null };
  actor: string;
}

export function hasDatabase(sql: SqlStorage): boolean {
  const row = sql
    .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
    .one();
  return row.n > 0;
}

/** Whether the newest bundled migration is applied (a plain query: no query builder on start). */
export function schemaIsCurrent(sql: SqlStorage): boolean {
  const row = sql.exec<{ at: number | null }>("SELECT max(created_at) AS at FROM __drizzle_migrations").one();
  return Number(row.at ?? 0) >= LATEST_MIGRATION;
}

/** What a starting object must know before it serves. */
export interface StartFacts {
  config: TenantConfig | null;
  restoring: boolean;
  fileIntents: boolean;
}

/**
 * What a starting object reads when its schema is current, in one statement: every cold start
 * runs it (it was five statements, each compiled afresh by a new object). The restore and file
 * checks are SQL expressions of their own modules. Null when there is no database, or its
 * schema is behind (or a table the expressions read does not exist yet): the caller then asks
 * whether a database exists, migrates it and asks the facts one by one.
 */
export function startFacts(sql: SqlStorage, restoringSql: string, intentsSql: string): StartFacts | null {
  let row: { migrated: number | null; config: string | null; restoring: number; intents: number };
  try {
    row = sql
      .exec<typeof row>(
        `SELECT (SELECT max(created_at) FROM __drizzle_migrations) AS migrated,
                (SELECT value FROM meta WHERE key = 'config') AS config,
                ${restoringSql} AS restoring, ${intentsSql} AS intents`,
      )
      .one();
  } catch {
    return null;
  }
  if (Number(row.migrated ?? 0) < LATEST_MIGRATION) return null;
  return {
    config: row.config === null ? null : (JSON.parse(row.config) as TenantConfig),
    restoring: row.restoring === 1,
    fileIntents: row.intents === 1,
  };
}

/**
 * Applies the bundled migrations the database lacks, all in one transaction. drizzle reports a
 * failure only as "Rollback", so the failing statement is found by replaying the pending ones
 * in a transaction that is always rolled back, and its own message is thrown instead.
 */
export async function migrateSchema(db: Db, storage?: DurableObjectStorage): Promise<void> {
  try {
    await migrate(db, migrations);
  } catch (err) {
    throw new Error((storage && failingStatement(storage)) || String(err instanceof Error ? err.message : err));
  }
}

class RolledBack extends Error {}

function failingStatement(storage: DurableObjectStorage): string | null {
  const applied = storage.sql
    .exec<{ at: number | null }>("SELECT max(created_at) AS at FROM __drizzle_migrations")
    .one().at;
  const pending = migrations.journal.entries.filter((e) => e.when > Number(applied ?? 0));
  let found: string | null = null;
  try {
    storage.transactionSync(() => {
      for (const entry of pending) {
        const sql = migrations.migrations[`m${String(entry.idx).padStart(4, "0")}`] ?? "";
        for (const stmt of sql.split("--> statement-breakpoint")) {
          if (!stmt.trim()) continue;
          try {
            storage.sql.exec(stmt);
          } catch (err) {
            found = `${entry.tag}: ${err instanceof Error ? err.message : String(err)}`;
            throw err;
          }
        }
      }
      throw new RolledBack();
    });
  } catch {
    // Always rolled back: this only looks for the statement that fails.
  }
  return found;
}

/** The tag of the newest migration applied to this database ("none" before the first). */
export function appliedSchema(sql: SqlStorage): string {
  const row = sql.exec<{ at: number | null }>("SELECT max(created_at) AS at FROM __drizzle_migrations").one();
  return schemaTagAt(row.at === null ? null : Number(row.at));
}

export function loadConfig(sql: SqlStorage): TenantConfig | null {
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'config'").toArray()[0];
  return row ? (JSON.parse(row.value) as TenantConfig) : null;
}

/** Creates the tenant's database: schema, configuration, owner member. All or nothing. */
export async function provision(storage: DurableObjectStorage, db: Db, input: ProvisionInput): Promise<void> {
  await migrateSchema(db);
  const now = new Date().toISOString();
  storage.transactionSync(() => {
    db.insert(meta)
      .values({ key: "config", value: JSON.stringify(input.config) })
      .run();
    db.insert(members)
      .values({
        sub: input.owner.sub,
        roles: ["owner"],
        email: input.owner.email ?? null,
        displayName: input.owner.displayName ?? null,
        createdAt: now,
        updatedAt: now,
      })
      .run();
    appendAudit(db, {
      actor: input.actor,
      action: "tenant.provisioned",
      resource: "tenant",
      success: true,
      details: { tier: input.config.tier, owner: input.owner.sub },
    });
  });
}

/** Stores a pushed configuration newer than `current`, audited; an older push changes nothing. */
export function applyConfig(
  storage: DurableObjectStorage,
  db: Db,
  current: TenantConfig | null,
  config: TenantConfig,
  actor: string,
): Result<{ revision: number; applied: boolean }> {
  if (!current) return fail("not_found", "Tenant not found.");
  if (config.revision <= current.revision) return ok({ revision: current.revision, applied: false });
  const key = (k: string) => k as keyof TenantConfig;
  const changed = Object.keys(config).filter((k) => JSON.stringify(config[key(k)]) !== JSON.stringify(current[key(k)]));
  storage.transactionSync(() => {
    db.update(meta)
      .set({ value: JSON.stringify(config) })
      .where(eq(meta.key, "config"))
      .run();
    appendAudit(db, {
      actor,
      action: "tenant.configured",
      resource: "tenant",
      success: true,
      details: { changed: changed.filter((k) => k !== "revision" && k !== "updatedAt" && k !== "wrappedKey") },
    });
  });
  return ok({ revision: config.revision, applied: true });
}
