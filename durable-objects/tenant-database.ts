// TenantDatabase: one per tenant. Owns the tenant's SQLite database and decides every request in
// one RPC: status, access, the work, and its audit event in the same transaction.
import { DurableObject } from "cloudflare:workers";
import { count, eq } from "drizzle-orm";
import { type DrizzleSqliteDODatabase, drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { authorize } from "./access";
import { appendAudit } from "./audit-chain";
import migrations from "./drizzle/migrations.js";
import type { Permission } from "./permissions";
import { type Caller, fail, type MeView, ok, type Result, type TenantConfig } from "./rpc-contract";
import * as schema from "./schema";

export interface ProvisionInput {
  config: TenantConfig;
  owner: { sub: string; email?: string | null; displayName?: string | null };
  actor: string;
}

export class TenantDatabase extends DurableObject<Env> {
  private readonly db: DrizzleSqliteDODatabase<typeof schema>;
  private config: TenantConfig | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = drizzle(ctx.storage, { schema });
    // An object that was never provisioned must leave no storage behind, so migrations only run
    // here for a database that already exists; provision() creates it.
    ctx.blockConcurrencyWhile(async () => {
      if (this.hasDatabase()) {
        await migrate(this.db, migrations);
        this.config = this.loadConfig();
      }
    });
  }

  /** Creates the tenant's database: schema, configuration, owner member. All or nothing. */
  async provision(input: ProvisionInput): Promise<Result<{ provisioned: true }>> {
    if (this.config) return fail("conflict", "Tenant already provisioned.");
    await migrate(this.db, migrations);
    const now = new Date().toISOString();
    this.ctx.storage.transactionSync(() => {
      this.db
        .insert(schema.meta)
        .values({ key: "config", value: JSON.stringify(input.config) })
        .run();
      this.db
        .insert(schema.members)
        .values({
          sub: input.owner.sub,
          roles: ["owner"],
          email: input.owner.email ?? null,
          displayName: input.owner.displayName ?? null,
          createdAt: now,
          updatedAt: now,
        })
        .run();
      appendAudit(this.db, {
        actor: input.actor,
        action: "tenant.provisioned",
        resource: "tenant",
        success: true,
        details: { tier: input.config.tier, owner: input.owner.sub },
      });
    });
    this.config = input.config;
    return ok({ provisioned: true });
  }

  /** Applies a configuration pushed by the control plane; stale revisions are ignored. */
  async configure(config: TenantConfig, actor: string): Promise<Result<{ revision: number }>> {
    const current = this.config;
    if (!current) return fail("not_found", "Tenant not found.");
    if (config.revision <= current.revision) return ok({ revision: current.revision });
    const changed = Object.keys(config).filter(
      (k) => JSON.stringify(config[k as keyof TenantConfig]) !== JSON.stringify(current[k as keyof TenantConfig]),
    );
    this.ctx.storage.transactionSync(() => {
      this.db
        .update(schema.meta)
        .set({ value: JSON.stringify(config) })
        .where(eq(schema.meta.key, "config"))
        .run();
      appendAudit(this.db, {
        actor,
        action: "tenant.configured",
        resource: "tenant",
        success: true,
        details: { changed: changed.filter((k) => k !== "revision" && k !== "updatedAt" && k !== "wrappedKey") },
      });
    });
    this.config = config;
    return ok({ revision: config.revision });
  }

  /** Lets the control plane ask whether a tenant user holds a permission (e.g. to read its tenant). */
  async check(caller: Caller, permission: Permission): Promise<Result<{ roles: string[] }>> {
    const p = authorize(this.db, this.config, caller, permission);
    return p.ok ? ok({ roles: p.value.roles }) : p;
  }

  async me(caller: Caller): Promise<Result<MeView>> {
    const p = authorize(this.db, this.config, caller, null);
    if (!p.ok) return p;
    const config = this.config as TenantConfig;
    const memberCount = this.db.select({ n: count() }).from(schema.members).get()?.n ?? 0;
    return ok({
      tenant: { id: config.id, name: config.name, status: config.status, tier: config.tier },
      principal: {
        sub: p.value.sub,
        kind: p.value.kind,
        roles: p.value.roles,
        permissions: [...p.value.permissions].sort(),
      },
      limits: config.limits,
      usage: { members: memberCount },
    });
  }

  private hasDatabase(): boolean {
    const row = this.ctx.storage.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
      .one();
    return row.n > 0;
  }

  private loadConfig(): TenantConfig | null {
    const row = this.db.select().from(schema.meta).where(eq(schema.meta.key, "config")).get();
    return row ? (JSON.parse(row.value) as TenantConfig) : null;
  }
}
