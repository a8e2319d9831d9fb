// Tenant schema migrations: each one upgrades a database that already holds data from the
// schema before it, and an existing tenant's object migrates on start without losing anything.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { describe, expect, it } from "vitest";
import migrations from "../durable-objects/drizzle/migrations.js";
import { INTENTS_OPEN_SQL, noteIntent } from "../durable-objects/files/file-intents";
import { RESTORE_OPEN_SQL } from "../durable-objects/jobs/restore-job";
import { loadConfig, startFacts } from "../durable-objects/lifecycle/tenant-lifecycle";
import { call, createTenant, json, uniqueId } from "./helpers";

const entries = migrations.journal.entries;

describe("tenant schema migrations", () => {
  it("has at least the foundation migration", () => {
    expect(entries.length).toBeGreaterThanOrEqual(1);
  });

  for (let k = 1; k <= entries.length; k++) {
    it(`upgrades a database at migration ${k} of ${entries.length} with its data kept`, async () => {
      const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(uniqueId("mig")));
      await runInDurableObject(stub, async (_instance, state) => {
        const db = drizzle(state.storage);
        await migrate(db, { ...migrations, journal: { ...migrations.journal, entries: entries.slice(0, k) } });
        state.storage.sql.exec(
          "INSERT INTO members (sub, roles, created_at, updated_at) VALUES ('keep-me', '[\"owner\"]', 'then', 'then')",
        );
        state.storage.sql.exec("INSERT INTO meta (key, value) VALUES ('marker', 'v')");
        await migrate(db, migrations);
        await migrate(db, migrations); // re-running is a no-op
        const applied = state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM __drizzle_migrations").one().n;
        expect(applied).toBe(entries.length);
        expect(state.storage.sql.exec("SELECT sub, roles FROM members").toArray()).toEqual([
          { sub: "keep-me", roles: '["owner"]' },
        ]);
        expect(state.storage.sql.exec("SELECT value FROM meta WHERE key = 'marker'").one().value).toBe("v");
      });
    });
  }

  it("an existing tenant's object migrates on restart and keeps its data", async () => {
    const t = await createTenant();
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    await evictDurableObject(stub);
    const me = await json<{ tenant: { id: string }; principal: { roles: string[] } }>(
      await call("/v1/me", { token: t.ownerToken }),
    );
    expect(me.tenant.id).toBe(t.id);
    expect(me.principal.roles).toEqual(["owner"]);
  });

  it("a current schema starts with one statement that reads what the start needs; a schema behind falls back", async () => {
    const t = await createTenant();
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql;
      const facts = startFacts(sql, RESTORE_OPEN_SQL, INTENTS_OPEN_SQL);
      expect(facts).toEqual({ config: loadConfig(sql), restoring: false, fileIntents: false });
      expect(facts?.config?.id).toBe(t.id);
      // An open file intent and an open restore are seen by the same statement.
      const store = { sql, storage: state.storage } as Parameters<typeof noteIntent>[0];
      noteIntent(store, "tok", { path: "a.txt", op: "put", sub: "alice" });
      sql.exec(
        "INSERT INTO meta (key, value) VALUES ('file-op;', 'not an intent'), ('file-op', 'not an intent either')",
      );
      expect(startFacts(sql, RESTORE_OPEN_SQL, INTENTS_OPEN_SQL)?.fileIntents).toBe(true);
      sql.exec("DELETE FROM meta WHERE key = 'file-op:tok'");
      expect(startFacts(sql, RESTORE_OPEN_SQL, INTENTS_OPEN_SQL)?.fileIntents).toBe(false);
      // A database whose newest migration is not recorded is behind: the caller migrates first.
      sql.exec("UPDATE __drizzle_migrations SET created_at = 0");
      expect(startFacts(sql, RESTORE_OPEN_SQL, INTENTS_OPEN_SQL)).toBeNull();
    });
  });
});
