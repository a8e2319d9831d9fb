// What one tenant object holds in memory across requests: the configuration the control plane
// pushed, the drizzle handle (built on first use), collection definitions and the unwrapped data
// keys, and the Store the feature modules work with. Its lifecycle (start, provision, configure,
// wipe) keeps them in step with the database.
import { drizzle } from "drizzle-orm/durable-sqlite";
import { forgetPrincipals } from "../access/principal-cache";
import type { CollectionDef } from "../collections/collection-schema";
import type { TenantConfig } from "../contract/config";
import { legalHoldFailure } from "../contract/legal-hold";
import { fail, ok, type Result } from "../contract/result";
import type { MasterKeys } from "../contract/wrapped-key";
import { KeyCache } from "../crypto/key-cache";
import { INTENTS_OPEN_SQL } from "../files/file-intents";
import { settleFiles } from "../files/file-recovery";
import { RESTORE_OPEN_SQL, restoreOpen } from "../jobs/restore-job";
import * as lifecycle from "../lifecycle/tenant-lifecycle";
import type { Db, Store } from "./store";

export class TenantState {
  config: TenantConfig | null = null;
  /** Why the last migration attempt failed (the tenant goes on serving on its old schema). */
  migrationError: string | null = null;
  private dbInstance: Db | null = null;
  /** Collection definitions cached across requests; every change goes through this object. */
  private readonly defs = new Map<string, CollectionDef>();
  private readonly keys: KeyCache;
  private cached: Store | null = null;
  /** Whether a restore is open (kept in memory: the gate asks on every call). */
  private restoring = false;

  constructor(
    private readonly storage: DurableObjectStorage,
    masterKeys: MasterKeys,
  ) {
    this.keys = new KeyCache(masterKeys);
  }

  /** The drizzle handle, built on first use: a request that needs no query builder never pays for it. */
  get db(): Db {
    this.dbInstance ??= drizzle(this.storage);
    return this.dbInstance;
  }

  /** What the feature modules work with; rebuilt only when the configuration is replaced. */
  /**
   * Runs a platform call or an alarm's work (imports, restores, sweeps): it may change members or
   * roles outside the data-plane calls, so the object's cached principals are forgotten before it
   * and again after it (its awaits let requests in, which may cache what it then changes). Code
   * that writes members, roles or keys still forgets them itself, in the same synchronous step.
   */
  async platformRun<T>(work: (store: Store) => T | Promise<T>, missing: () => T): Promise<T> {
    const store = this.store();
    if (!store) return missing();
    forgetPrincipals(this.storage);
    try {
      return await work(store);
    } finally {
      forgetPrincipals(this.storage);
    }
  }

  store(): Store | null {
    const config = this.config;
    if (!config) return null;
    if (this.cached?.config !== config) {
      const self = this;
      this.cached = {
        storage: this.storage,
        sql: this.storage.sql,
        get db() {
          return self.db;
        },
        config,
        defs: this.defs,
        cipher: () => this.keys.ring(config),
        get restoring() {
          return self.restoring;
        },
        set restoring(value: boolean) {
          self.restoring = value;
        },
        adopt: (next) => this.adopt(next),
      };
    }
    return this.cached;
  }

  /**
   * An object that was never provisioned must leave no storage behind, so migrations only run
   * for a database that already exists. Objects are evicted when idle and rebuilt on the next
   * request, so this is on the path of every tenant that calls now and then: one statement when
   * the schema is current (its tables can only exist in a provisioned database), no query
   * builder at all; whether there is a database is asked only when that statement fails.
   */
  async start(bucket: R2Bucket): Promise<void> {
    const sql = this.storage.sql;
    let facts = lifecycle.startFacts(sql, RESTORE_OPEN_SQL, INTENTS_OPEN_SQL);
    if (facts) {
      this.migrationError = null;
    } else {
      if (!lifecycle.hasDatabase(sql)) return;
      await this.migrate();
      facts = { config: lifecycle.loadConfig(sql), restoring: restoreOpen(sql), fileIntents: true };
    }
    this.config = facts.config;
    this.restoring = facts.restoring;
    // File writes an earlier instance left between R2 and the catalogue (a crash, an eviction).
    const store = this.store();
    if (store && facts.fileIntents) await settleFiles(store, bucket);
  }

  /**
   * Applies the bundled migrations the database lacks. They run in one transaction, so a failing
   * one leaves the schema as it was: the failure is kept (and reported), the tenant serves on.
   */
  async migrate(): Promise<void> {
    if (!lifecycle.hasDatabase(this.storage.sql) || lifecycle.schemaIsCurrent(this.storage.sql)) {
      this.migrationError = null;
      return;
    }
    try {
      await lifecycle.migrateSchema(this.db, this.storage);
      this.migrationError = null;
    } catch (err) {
      this.migrationError = String(err instanceof Error ? err.message : err).slice(0, 500);
      console.error(JSON.stringify({ msg: "tenant migration failed", error: this.migrationError }));
    }
  }

  async provision(input: lifecycle.ProvisionInput): Promise<Result<{ provisioned: true }>> {
    if (this.config) return fail("conflict", "Tenant already provisioned.");
    await lifecycle.provision(this.storage, this.db, input);
    forgetPrincipals(this.storage);
    this.config = input.config;
    return ok({ provisioned: true });
  }

  /** Applies a pushed configuration; answers whether it replaced the one held. */
  configure(config: TenantConfig, actor: string): Result<{ revision: number; applied: boolean }> {
    const applied = lifecycle.applyConfig(this.storage, this.db, this.config, config, actor);
    if (applied.ok && applied.value.applied) this.config = config;
    forgetPrincipals(this.storage);
    return applied;
  }

  /** Holds a configuration the object itself stored (a restore's settings), with its collections reloaded. */
  adopt(config: TenantConfig): void {
    this.config = config;
    this.defs.clear();
  }

  /** Hard delete: the whole database and any alarm (refused under legal hold). */
  async wipe(): Promise<Result<{ wiped: true }>> {
    const held = this.config ? legalHoldFailure(this.config, "Wiping the tenant") : null;
    if (held) return held;
    await this.storage.deleteAlarm();
    await this.storage.deleteAll();
    forgetPrincipals(this.storage);
    this.config = null;
    this.restoring = false;
    this.defs.clear();
    this.keys.clear();
    return ok({ wiped: true });
  }
}
