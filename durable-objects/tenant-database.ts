// TenantDatabase: one per tenant. Owns the tenant's SQLite database and decides every request in
// one RPC: status, access, the work, and its audit event in the same transaction.
import { DurableObject } from "cloudflare:workers";
import { and, desc, eq, inArray } from "drizzle-orm";
import { type DrizzleSqliteDODatabase, drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { createKey, listKeys, revokeKey } from "./access/api-keys";
import { authorize, type Principal, statusFailure } from "./access/authorize";
import { unmaskableProblem } from "./access/masking";
import { addMember, memberPage, removeMember, updateMember } from "./access/members";
import { deleteRole, listRoles, putRole } from "./access/roles";
import { addShare, listShares, removeShare } from "./access/shares";
import { appendAudit } from "./audit/audit-chain";
import { listAudit, verifyAudit } from "./audit/audit-log";
import type { CollectionDef } from "./collections/collection-schema";
import {
  type CollectionView,
  createCollection,
  dropCollection,
  getCollection,
  listCollections,
  patchCollection,
} from "./collections/collections";
import type { Permission } from "./contract/access";
import type { AuditQuery, Verification } from "./contract/audit";
import type { Caller } from "./contract/caller";
import type { TenantConfig } from "./contract/config";
import type { StoredObject } from "./contract/files";
import type { JobView } from "./contract/jobs";
import { legalHoldFailure } from "./contract/legal-hold";
import type { AggregateResult, ErasureResult, RetentionResult } from "./contract/lifecycle";
import type { IdempotencyInput } from "./contract/records";
import { fail, ok, type RateState, type Result } from "./contract/result";
import type { MeView } from "./contract/usage";
import { FieldCipher, KeyRing, unwrapDataKeySync } from "./crypto/field-cipher";
import * as schema from "./db/schema";
import type { Store } from "./db/store";
import migrations from "./drizzle/migrations.js";
import {
  beginUpload,
  commitUpload,
  deleteFileRow,
  forgetUpload,
  listFiles,
  overwriteFailure,
  Reservations,
  readFile,
  rememberUpload,
  uploadPath,
} from "./files/file-catalog";
import { clearIntent, deleteToken, noteIntent } from "./files/file-intents";
import { settleFiles } from "./files/file-recovery";
import { TokenBucket } from "./gate/rate-limit";
import { DEFAULT_CHUNK_ROWS, type ExportState, exportStep, jobView, newExportState } from "./jobs/export-job";
import { type ImportState, importStep, isEmptyTenant } from "./jobs/import-job";
import { newRekeyState, type RekeyState, rekeyStep } from "./jobs/rekey-job";
import { applyRetention } from "./lifecycle/retention";
import { eraseSubject, erasureRefusal, uploadsOf } from "./privacy/erasure";
import { type AggregateSpec, aggregate } from "./records/admin-aggregate";
import { recordCount } from "./records/record-writes";
import {
  batchRecords,
  createRecord,
  deleteRecord,
  getRecord,
  listRecords,
  recordHistory,
  restoreRecord,
  writeRecord,
} from "./records/records";

import { searchRecords } from "./records/search-records";
import { tenantStorage } from "./storage/tenant-storage";
import { currentPeriod, FLUSH_DELAY_MS, periods, UsageMeter } from "./usage/usage-meter";

/** When the newest bundled migration was made: drizzle records each applied one by it. */
const LATEST_MIGRATION = Math.max(...migrations.journal.entries.map((e: { when: number }) => e.when));

const WRITE_PERMISSIONS = new Set<Permission>([
  "records:write",
  "collections:manage",
  "files:write",
  "members:manage",
  "keys:manage",
  "settings:manage",
]);

/** Unwraps with MASTER_KEY, or MASTER_KEY_PREVIOUS while a master key rotation is under way. */
function unwrapDataKey(env: Env, wrapped: string): Buffer {
  try {
    return unwrapDataKeySync(env.MASTER_KEY ?? "", wrapped);
  } catch (err) {
    if (!env.MASTER_KEY_PREVIOUS) throw err;
    return unwrapDataKeySync(env.MASTER_KEY_PREVIOUS, wrapped);
  }
}

/** Parts of an import applied per alarm, and the pause between job steps. */
const IMPORT_PARTS_PER_STEP = 8;
const JOB_STEP_DELAY_MS = 10;

export interface ProvisionInput {
  config: TenantConfig;
  owner: { sub: string; email?: string | null; displayName?: string | null };
  actor: string;
}

export class TenantDatabase extends DurableObject<Env> {
  private dbInstance: DrizzleSqliteDODatabase<typeof schema> | null = null;
  private config: TenantConfig | null = null;
  /** Collection definitions cached across requests; every change goes through this object. */
  private readonly defs = new Map<string, CollectionDef>();
  private bucket: TokenBucket | null = null;
  private readonly meter = new UsageMeter();
  private flushScheduled = false;
  /** No request served yet by this instance (objects are evicted when idle and started again). */
  private fresh = true;
  /** The sweep instant of a retention pass that still has work (continued by the alarm). */
  private retentionPending: string | null = null;
  private cipherCache: { wrapped: string; cipher: KeyRing } | null = null;
  private readonly reservations = new Reservations();
  private readonly keyBuckets = new Map<string, TokenBucket>();
  private storeCache: Store | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // An object that was never provisioned must leave no storage behind, so migrations only run
    // here for a database that already exists; provision() creates it. Objects are evicted when
    // idle and rebuilt on the next request, so this start is on the path of every tenant that
    // calls now and then: a few small queries when the schema is current, no query builder at all.
    ctx.blockConcurrencyWhile(async () => {
      if (this.hasDatabase()) {
        if (!this.schemaIsCurrent()) await migrate(this.db, migrations);
        this.config = this.loadConfig();
        // File writes an earlier instance left between R2 and the catalogue (a crash, an eviction).
        const store = this.store();
        if (store) await settleFiles(store, this.env.FILES);
      }
    });
  }

  /** The drizzle handle, built on first use: a request that needs no query builder never pays for it. */
  private get db(): DrizzleSqliteDODatabase<typeof schema> {
    // No relational schema: Silo never uses db.query, and the relational config drizzle builds for
    // a schema costs every object tens of kilobytes of heap (measured with npm run bench).
    this.dbInstance ??= drizzle(this.ctx.storage) as unknown as DrizzleSqliteDODatabase<typeof schema>;
    return this.dbInstance;
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
    this.bucket?.configure(config.limits.requestsPerSecond, config.limits.burst);
    return ok({ revision: config.revision });
  }

  /** Lets the control plane ask whether a tenant user holds a permission (e.g. to read its tenant). */
  async check(caller: Caller, permission: Permission): Promise<Result<{ roles: string[] }>> {
    return this.with(caller, permission, (_store, p) => ok({ roles: p.roles }));
  }

  async me(caller: Caller): Promise<Result<MeView>> {
    return this.with(caller, null, (store, p) => {
      const config = store.config;
      return ok({
        tenant: { id: config.id, name: config.name, status: config.status, tier: config.tier },
        principal: { sub: p.sub, kind: p.kind, roles: p.roles, permissions: [...p.permissions].sort() },
        limits: config.limits,
        usage: this.usageNow(store),
      });
    });
  }

  /** The tenant's settings as the control plane last pushed them (any member). */
  async settings(caller: Caller): Promise<Result<TenantConfig["settings"]>> {
    return this.with(caller, null, (store) => ok(store.config.settings));
  }

  /** Usage of the current period against the limits, and past periods (tenant owners, admins). */
  async usage(caller: Caller) {
    return this.with(caller, "usage:read", (store) => ok(this.usageReport(store)));
  }

  /** The same report for the control plane (platform admin, checked by the Worker). */
  async usageForPlatform() {
    const store = this.store();
    return store ? ok(this.usageReport(store)) : fail("not_found", "Tenant not found.");
  }

  // ---- Tenant data: collections, records, search, audit ----------------------------------

  async createCollection(caller: Caller, body: unknown): Promise<Result<CollectionView>> {
    return this.with(caller, "collections:manage", (store, p) => createCollection(store, p, body));
  }

  async listCollections(caller: Caller): Promise<Result<CollectionView[]>> {
    return this.with(caller, "records:read", (store) => ok(listCollections(store)));
  }

  async getCollection(caller: Caller, name: string): Promise<Result<CollectionView>> {
    return this.with(caller, "records:read", (store) => getCollection(store, name));
  }

  async patchCollection(caller: Caller, name: string, body: unknown): Promise<Result<CollectionView>> {
    return this.with(caller, "collections:manage", (store, p) => patchCollection(store, p, name, body));
  }

  async dropCollection(caller: Caller, name: string): Promise<Result<{ deleted: true }>> {
    return this.with(caller, "collections:manage", (store, p) => dropCollection(store, p, name));
  }

  async createRecord(caller: Caller, name: string, body: unknown, idem: IdempotencyInput | null) {
    return this.with(caller, "records:write", (store, p) => createRecord(store, p, name, body, idem));
  }

  async batchRecords(caller: Caller, name: string, body: unknown, idem: IdempotencyInput | null) {
    return this.with(caller, "records:write", (store, p) => batchRecords(store, p, name, body, idem));
  }

  async getRecord(caller: Caller, name: string, id: string, includeDeleted: boolean) {
    return this.with(caller, "records:read", (store, p) => getRecord(store, p, name, id, includeDeleted));
  }

  async listRecords(caller: Caller, name: string, params: Record<string, string>) {
    return this.with(caller, "records:read", (store, p) => listRecords(store, p, name, params));
  }

  async writeRecord(
    caller: Caller,
    name: string,
    id: string,
    body: unknown,
    mode: "put" | "patch",
    ifMatch: number | null,
  ) {
    return this.with(caller, "records:write", (store, p) => writeRecord(store, p, name, id, body, mode, ifMatch));
  }

  async deleteRecord(caller: Caller, name: string, id: string, ifMatch: number | null) {
    return this.with(caller, "records:write", (store, p) => deleteRecord(store, p, name, id, ifMatch));
  }

  async restoreRecord(caller: Caller, name: string, id: string) {
    return this.with(caller, "records:write", (store, p) => restoreRecord(store, p, name, id));
  }

  async recordHistory(caller: Caller, name: string, id: string, params: { cursor?: string; limit?: string }) {
    return this.with(caller, "records:read", (store, p) => recordHistory(store, p, name, id, params));
  }

  async search(caller: Caller, text: string, collection: string | null, limit: number) {
    return this.with(caller, "records:read", (store, p) => {
      this.meter.count("searchQueries");
      return ok(searchRecords(store, p, text, collection, limit));
    });
  }

  async audit(caller: Caller, query: AuditQuery) {
    return this.with(caller, "audit:read", (store) => listAudit(store, query));
  }

  async verifyAudit(caller: Caller): Promise<Result<Verification>> {
    return this.with(caller, "audit:read", (store) => ok(verifyAudit(store, this.env.MASTER_KEY ?? "")));
  }

  /** The control plane reads a tenant's trail (platform admin, checked by the Worker). */
  async auditForPlatform(query: AuditQuery) {
    const store = this.store();
    return store ? listAudit(store, query) : fail("not_found", "Tenant not found.");
  }

  /** Erases a data subject's personal data (owners and admins: members:manage). */
  async erase(caller: Caller, subject: string): Promise<Result<ErasureResult>> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const allowed = this.with(caller, "members:manage", (_store, p) => ok(p));
    if (!allowed.ok) return allowed;
    const held = legalHoldFailure(store.config, "Erasure");
    if (held) return held;
    const refused = erasureRefusal(store, allowed.value, subject);
    if (refused) return refused;
    // Objects go first, so no file row ever points at a deleted object; then one transaction.
    const files = uploadsOf(store, subject);
    const archive = tenantStorage(this.env.FILES, store.config.id);
    for (const path of files) await archive.deleteStoredFile(path);
    return eraseSubject(store, allowed.value, subject, files);
  }

  // ---- Members, roles, API keys, shares -------------------------------------------------

  async listMembers(caller: Caller, after: string | null = null, limit = 1000) {
    return this.with(caller, "members:manage", (store) => ok(memberPage(store, after, limit)));
  }

  async addMember(caller: Caller, body: unknown) {
    return this.with(caller, "members:manage", (store, p) => addMember(store, p, body));
  }

  async updateMember(caller: Caller, sub: string, body: unknown) {
    return this.with(caller, "members:manage", (store, p) => updateMember(store, p, sub, body));
  }

  async removeMember(caller: Caller, sub: string) {
    return this.with(caller, "members:manage", (store, p) => removeMember(store, p, sub));
  }

  /** Any member may see the roles and what they grant. */
  async listRoles(caller: Caller) {
    return this.with(caller, null, (store) => ok(listRoles(store)));
  }

  async putRole(caller: Caller, name: string, body: unknown) {
    return this.with(caller, "members:manage", (store, p) => putRole(store, p, name, body));
  }

  async deleteRole(caller: Caller, name: string) {
    return this.with(caller, "members:manage", (store, p) => deleteRole(store, p, name));
  }

  async createApiKey(caller: Caller, input: { id: string; hash: string; body: unknown }) {
    return this.with(caller, "keys:manage", (store, p) => createKey(store, p, input));
  }

  async listApiKeys(caller: Caller) {
    return this.with(caller, "keys:manage", (store) => ok(listKeys(store)));
  }

  async revokeApiKey(caller: Caller, id: string) {
    return this.with(caller, "keys:manage", (store, p) => revokeKey(store, p, id));
  }

  async listShares(caller: Caller, collection: string, id: string) {
    return this.with(caller, "records:read", (store, p) => listShares(store, p, collection, id));
  }

  async addShare(caller: Caller, collection: string, id: string, body: unknown) {
    return this.with(caller, "records:write", (store, p) => addShare(store, p, collection, id, body));
  }

  async removeShare(caller: Caller, collection: string, id: string, shareId: string) {
    return this.with(caller, "records:write", (store, p) => removeShare(store, p, collection, id, shareId));
  }

  /** One tenant's part of a platform admin's cross-tenant query (read-only; checked by the Worker). */
  async aggregate(spec: AggregateSpec): Promise<Result<AggregateResult>> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const down = statusFailure(store.config);
    return down ?? aggregate(store, spec);
  }

  // ---- Files (the Worker streams bytes to and from R2; metadata and rules live here) -------

  async fileBeginUpload(caller: Caller, input: { path: string; contentType: string; size: number }) {
    return this.with(caller, "files:write", (store, p) => {
      const admitted = beginUpload(store, this.reservations, input);
      // Noted before the Worker writes to R2; the commit clears it (file-recovery.ts on a crash).
      if (admitted.ok) noteIntent(store, admitted.value.reservation, { path: input.path, op: "put", sub: p.sub });
      return admitted;
    });
  }

  async fileCommitUpload(caller: Caller, object: StoredObject, reservation: string | null) {
    if (reservation) this.reservations.release(reservation);
    return this.followUp(caller, "files:write", (store, p) => commitUpload(store, p, object, reservation));
  }

  async fileAbortUpload(reservation: string): Promise<Result<{ released: true }>> {
    this.reservations.release(reservation);
    const store = this.store();
    if (store) clearIntent(store, reservation); // R2 was left as it was
    return ok({ released: true });
  }

  /** Authorizes a download and meters it (the whole object's size counts as egress). */
  async fileRead(caller: Caller, path: string) {
    return this.with(caller, "files:read", (store) => {
      const file = readFile(store, path);
      if (file.ok) this.meter.count("egressBytes", file.value.size);
      return file;
    });
  }

  async fileDelete(caller: Caller, path: string) {
    return this.with(caller, "files:write", (store, p) => deleteFileRow(store, p, path, true));
  }

  /** The Worker has deleted a file's object from R2 after its row: its delete intent is done. */
  async fileDeleted(caller: Caller, path: string) {
    return this.followUp(caller, "files:write", (store) => {
      clearIntent(store, deleteToken(path));
      return ok({ settled: true });
    });
  }

  async fileList(caller: Caller, prefix: string, cursor: string | null, limit: number, delimiter: "/" | null = null) {
    return this.with(caller, "files:read", (store) => ok(listFiles(store, prefix, cursor, limit, delimiter)));
  }

  async multipartBegin(caller: Caller, path: string, contentType: string, uploadId: string | null) {
    return this.with(caller, "files:write", (store, p) => {
      const check = beginUpload(store, this.reservations, { path, contentType, size: 0 });
      if (!check.ok) return check;
      this.reservations.release(check.value.reservation);
      if (uploadId) rememberUpload(store, uploadId, path, p.sub);
      return ok({ allowed: true });
    });
  }

  /** A multipart upload id is usable only by the tenant that created it, for its own path. */
  async multipartCheck(caller: Caller, path: string, uploadId: string, finished: boolean) {
    return this.followUp(caller, "files:write", (store) => {
      if (uploadPath(store, uploadId) !== path) return fail("not_found", "No such upload.");
      const held = finished ? null : overwriteFailure(store, path);
      if (held) return held;
      if (finished) forgetUpload(store, uploadId);
      return ok({ path });
    });
  }

  // ---- Sweeps and lifecycle (called by the control plane only) ---------------------------

  /** Applies retention at `now` (the sweep's clock); continues by alarm when there is more. */
  async retention(now: string): Promise<Result<RetentionResult>> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const result = applyRetention(store, this.env.MASTER_KEY ?? "", new Date(now));
    this.retentionPending = result.more ? now : null;
    if (result.more) await this.ctx.storage.setAlarm(Date.now() + 1000);
    return ok(result);
  }

  /** Usage of every closed period (before the current month), for the billing rollup. */
  async closedUsage(): Promise<
    Result<{ tier: string; periods: { period: string; metrics: Record<string, number> }[] }>
  > {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const current = currentPeriod();
    this.ctx.storage.transactionSync(() => {
      this.meter.flush(store.sql);
      // Gauges (records, storage) are snapshotted into a closed period once, at its first
      // rollup, so every later rollup of that period reads the same figures.
      const gauges = this.usageNow(store);
      for (const { period, metrics } of periods(store)) {
        if (period >= current || "records" in metrics) continue;
        for (const metric of ["records", "storageBytes"] as const) {
          store.sql.exec(
            "INSERT INTO usage_counters (period, metric, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            period,
            metric,
            gauges[metric],
          );
        }
      }
    });
    return ok({ tier: store.config.tier, periods: periods(store).filter((p) => p.period < current) });
  }

  /** Hard delete: the whole database and any alarm. The object answers 404 from now on. */
  async wipe(): Promise<Result<{ wiped: true }>> {
    const held = this.config ? legalHoldFailure(this.config, "Wiping the tenant") : null;
    if (held) return held;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.config = null;
    this.defs.clear();
    this.bucket = null;
    this.retentionPending = null;
    this.cipherCache = null;
    return ok({ wiped: true });
  }

  // ---- Export, backup and import jobs (a chunk per alarm) -------------------------------

  /** Starts an export (or a backup, named by its date); the bundle is written by alarms. */
  async startExport(kind: "export" | "backup", copyFiles: boolean): Promise<Result<JobView>> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const now = new Date().toISOString();
    const id =
      kind === "backup"
        ? now.slice(0, 10)
        : `exp-${now.replace(/[-:.TZ]/g, "").slice(0, 14)}-${crypto.randomUUID().slice(0, 8)}`;
    const existing = this.db.select().from(schema.exportJobs).where(eq(schema.exportJobs.id, id)).get();
    if (existing) return ok(jobView(existing)); // one backup a day: a re-run is a no-op
    const job = {
      id,
      kind,
      status: "pending" as const,
      location: kind === "backup" ? "backups" : "exports",
      state: newExportState(store, copyFiles) as unknown as Record<string, unknown>,
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    this.ctx.storage.transactionSync(() => {
      this.db.insert(schema.exportJobs).values(job).run();
      appendAudit(this.db, {
        actor: "system:control-plane",
        action: `${kind}.started`,
        resource: `${kind}:${id}`,
        success: true,
      });
    });
    await this.ctx.storage.setAlarm(Date.now());
    return ok(jobView(job));
  }

  /** Starts re-encrypting every encrypted value under the current data key (a chunk per alarm). */
  async startRekey(): Promise<Result<JobView>> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const open = this.db
      .select()
      .from(schema.exportJobs)
      .where(and(eq(schema.exportJobs.kind, "rekey"), inArray(schema.exportJobs.status, ["pending", "running"])))
      .get();
    if (open) return ok(jobView(open));
    const now = new Date().toISOString();
    const job = {
      id: `key-${crypto.randomUUID().slice(0, 12)}`,
      kind: "rekey" as const,
      status: "pending" as const,
      location: "tenant",
      state: newRekeyState(store) as unknown as Record<string, unknown>,
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    this.db.insert(schema.exportJobs).values(job).run();
    await this.ctx.storage.setAlarm(Date.now());
    return ok(jobView(job));
  }

  /** The latest data key rotation, if any. */
  async rekeyStatus(): Promise<Result<JobView | null>> {
    if (!this.config) return fail("not_found", "Tenant not found.");
    const job = this.db
      .select()
      .from(schema.exportJobs)
      .where(eq(schema.exportJobs.kind, "rekey"))
      .orderBy(desc(schema.exportJobs.createdAt))
      .get();
    return ok(job ? jobView(job) : null);
  }

  /** Starts loading another tenant's export into this (empty) tenant. */
  async startImport(fromTenant: string, exportId: string): Promise<Result<JobView>> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    if (!isEmptyTenant(store)) return fail("conflict", "Imports go into an empty tenant only.");
    const running = this.db.select().from(schema.exportJobs).where(eq(schema.exportJobs.kind, "import")).all();
    if (running.some((j) => j.status === "pending" || j.status === "running"))
      return fail("conflict", "An import is already running.");
    const now = new Date().toISOString();
    const state: ImportState = { source: fromTenant, exportId, manifest: null, index: 0, counts: {} };
    const job = {
      id: `imp-${crypto.randomUUID().slice(0, 12)}`,
      kind: "import" as const,
      status: "pending" as const,
      location: `${fromTenant}/${exportId}`,
      state: state as unknown as Record<string, unknown>,
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    this.db.insert(schema.exportJobs).values(job).run();
    await this.ctx.storage.setAlarm(Date.now());
    return ok(jobView(job));
  }

  async job(id: string): Promise<Result<JobView>> {
    if (!this.config) return fail("not_found", "Tenant not found.");
    const job = this.db.select().from(schema.exportJobs).where(eq(schema.exportJobs.id, id)).get();
    return job ? ok(jobView(job)) : fail("not_found", `No export '${id}'.`);
  }

  /** Whether a tenant caller may read this tenant's exports (`export`, and `pii:read`: they are raw). */
  async checkExport(caller: Caller): Promise<Result<{ roles: string[] }>> {
    return this.with(caller, "export", (_store, p) => unmaskableProblem(p, "Exports") ?? ok({ roles: p.roles }));
  }

  /** Runs the oldest open job one step; returns whether more work remains. */
  private async stepJobs(store: Store): Promise<boolean> {
    // Most alarms only flush usage counts: a plain query, not the query builder, tells them apart.
    const active = store.sql
      .exec("SELECT 1 FROM export_jobs WHERE status IN ('pending', 'running') LIMIT 1")
      .toArray().length;
    if (!active) return false;
    const job = this.db
      .select()
      .from(schema.exportJobs)
      .where(inArray(schema.exportJobs.status, ["pending", "running"]))
      .orderBy(schema.exportJobs.createdAt)
      .get();
    if (!job) return false;
    const chunkRows = Number(this.env.EXPORT_CHUNK_ROWS) || DEFAULT_CHUNK_ROWS;
    try {
      const step =
        job.kind === "rekey"
          ? this.ctx.storage.transactionSync(() => rekeyStep(store, job.state as unknown as RekeyState, chunkRows * 4))
          : job.kind === "import"
            ? await importStep(store, this.env.FILES, job.state as unknown as ImportState, IMPORT_PARTS_PER_STEP)
            : await exportStep(
                store,
                this.env.FILES,
                job.id,
                job.location as "exports" | "backups",
                job.state as unknown as ExportState,
                chunkRows * 4,
                chunkRows,
              );
      const now = new Date().toISOString();
      this.db
        .update(schema.exportJobs)
        .set({
          status: step.finished ? "completed" : "running",
          state: step.state as unknown as Record<string, unknown>,
          updatedAt: now,
          finishedAt: step.finished ? now : null,
        })
        .where(eq(schema.exportJobs.id, job.id))
        .run();
      if (step.finished && job.kind === "backup") await this.pruneBackups(store);
    } catch (err) {
      const now = new Date().toISOString();
      this.db
        .update(schema.exportJobs)
        .set({
          status: "failed",
          error: String(err instanceof Error ? err.message : err),
          updatedAt: now,
          finishedAt: now,
        })
        .where(eq(schema.exportJobs.id, job.id))
        .run();
    }
    return true;
  }

  /** Keeps the plan's number of backups; older bundles are deleted from R2 with their rows. */
  private async pruneBackups(store: Store): Promise<void> {
    if (legalHoldFailure(store.config, "Pruning backups")) return;
    const backups = this.db
      .select()
      .from(schema.exportJobs)
      .where(and(eq(schema.exportJobs.kind, "backup"), eq(schema.exportJobs.status, "completed")))
      .orderBy(desc(schema.exportJobs.id))
      .all();
    const archive = tenantStorage(this.env.FILES, store.config.id);
    for (const old of backups.slice(store.config.limits.maxBackups)) {
      await archive.deleteBundle({ area: "backups", id: old.id });
      this.db.delete(schema.exportJobs).where(eq(schema.exportJobs.id, old.id)).run();
    }
  }

  /**
   * The second half of an upload the gate already admitted (commit, part checks): permission
   * only, so a rate limit can never strand bytes that R2 has already accepted.
   */
  private followUp<T>(
    caller: Caller,
    permission: Permission,
    work: (store: Store, p: Principal) => Result<T>,
  ): Result<T> {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const p = authorize(() => this.db, this.ctx.storage, store.config, caller, permission);
    return p.ok ? work(store, p.value) : p;
  }

  /**
   * The gate of every data-plane call: the tenant's rate limit before any work, the monthly
   * request quota, then status, membership and one permission; then the work, metered.
   */
  private with<T>(
    caller: Caller,
    permission: Permission | null,
    work: (store: Store, p: Principal) => Result<T>,
  ): Result<T> & { rate?: RateState } {
    const store = this.store();
    if (!store) return fail("not_found", "Tenant not found.");
    const { limits } = store.config;
    this.bucket ??= new TokenBucket(limits.requestsPerSecond, limits.burst, Date.now());
    // An API key has its own share (half the tenant's rate and burst), so one machine client
    // cannot use up the whole tenant's budget; the tenant's bucket still applies on top.
    const keyLimited = caller.kind === "apikey" ? this.keyBucket(caller.sub, limits).take(Date.now()) : null;
    const { allowed, state: rate } = keyLimited && !keyLimited.allowed ? keyLimited : this.bucket.take(Date.now());
    if (!allowed) {
      this.meter.count("rateLimited");
      this.scheduleFlush();
      return {
        ...fail("rate_limited", `This tenant may send ${limits.requestsPerSecond} requests per second.`, {
          retryAfter: rate.retryAfter,
        }),
        rate,
      };
    }
    if (this.meter.current(store.sql, "requests") >= limits.maxRequestsPerMonth) {
      const used = this.meter.current(store.sql, "requests");
      return {
        ...fail("quota_exceeded", "This tenant has used its requests for the month.", {
          limit: limits.maxRequestsPerMonth,
          current: used,
        }),
        rate,
      };
    }
    const p = authorize(() => this.db, this.ctx.storage, store.config, caller, permission);
    this.meter.count("requests");
    if (!p.ok) {
      this.scheduleFlush();
      return { ...p, rate };
    }
    const result = work(store, p.value);
    const writes = permission !== null && WRITE_PERMISSIONS.has(permission);
    this.meter.count(writes ? "writes" : "reads");
    // A just-started object writes its counts at once: it is most likely a tenant that calls now
    // and then, and an alarm would cost more than the write (and start the object again later).
    if (writes || this.meter.due || this.fresh) this.ctx.storage.transactionSync(() => this.meter.flush(store.sql));
    else this.scheduleFlush();
    this.fresh = false;
    return { ...result, rate };
  }

  private keyBucket(keyId: string, limits: TenantConfig["limits"]): TokenBucket {
    let bucket = this.keyBuckets.get(keyId);
    const rate = Math.max(1, limits.requestsPerSecond / 2);
    const burst = Math.max(1, Math.floor(limits.burst / 2));
    if (!bucket) {
      if (this.keyBuckets.size > 10_000) this.keyBuckets.clear();
      bucket = new TokenBucket(rate, burst, Date.now());
      this.keyBuckets.set(keyId, bucket);
    } else {
      bucket.configure(rate, burst);
    }
    return bucket;
  }

  /** Flushes read counters up to a minute later, so a read never costs a write of its own. */
  private scheduleFlush(): void {
    if (this.flushScheduled || !this.meter.hasPending) return;
    this.flushScheduled = true;
    // One alarm serves every deferred job: never push back an earlier one (an export's next
    // chunk, a retention continuation) to the flush's later time.
    const at = Date.now() + FLUSH_DELAY_MS;
    this.ctx.waitUntil(
      (async () => {
        const current = await this.ctx.storage.getAlarm();
        if (current === null || current > at) await this.ctx.storage.setAlarm(at);
      })(),
    );
  }

  /** One alarm serves every deferred job: the usage flush and the continuation of retention. */
  override async alarm(): Promise<void> {
    this.flushScheduled = false;
    const store = this.store();
    if (!store) return;
    this.ctx.storage.transactionSync(() => this.meter.flush(store.sql));
    if (this.retentionPending) await this.retention(this.retentionPending);
    if (await this.stepJobs(store)) await this.ctx.storage.setAlarm(Date.now() + JOB_STEP_DELAY_MS);
  }

  private usageNow(store: Store) {
    const period = currentPeriod();
    const one = (query: string) => store.sql.exec<{ n: number | null }>(query).one().n ?? 0;
    return {
      ...this.meter.read(store.sql, period),
      members: one("SELECT count(*) AS n FROM members"),
      collections: one("SELECT count(*) AS n FROM collections"),
      records: recordCount(store),
      storageBytes: one("SELECT sum(size) AS n FROM files"),
    };
  }

  private usageReport(store: Store) {
    const current = currentPeriod();
    return {
      period: current,
      limits: store.config.limits,
      current: this.usageNow(store),
      periods: periods(store).filter((p) => p.period !== current),
    };
  }

  /** What the data modules work with; rebuilt only when the configuration is replaced. */
  private store(): Store | null {
    if (!this.config) return null;
    if (this.storeCache?.config !== this.config) {
      const self = this;
      this.storeCache = {
        storage: this.ctx.storage,
        sql: this.ctx.storage.sql,
        get db() {
          return self.db;
        },
        config: this.config,
        defs: this.defs,
        cipher: () => this.fieldCipher(),
      };
    }
    return this.storeCache;
  }

  /** The data keys, unwrapped with MASTER_KEY on first use and kept only in memory. */
  private fieldCipher(): KeyRing {
    const wrapped = [this.config?.wrappedKey ?? "", ...(this.config?.retiredKeys ?? [])].join("|");
    if (!this.cipherCache || this.cipherCache.wrapped !== wrapped) {
      const [current, ...retired] = wrapped.split("|").map((w) => new FieldCipher(unwrapDataKey(this.env, w)));
      this.cipherCache = { wrapped, cipher: new KeyRing(current as FieldCipher, retired) };
    }
    return this.cipherCache.cipher;
  }

  private hasDatabase(): boolean {
    const row = this.ctx.storage.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
      .one();
    return row.n > 0;
  }

  /** Whether the newest bundled migration is applied (drizzle records each by its timestamp). */
  private schemaIsCurrent(): boolean {
    const row = this.ctx.storage.sql
      .exec<{ at: number | null }>("SELECT max(created_at) AS at FROM __drizzle_migrations")
      .one();
    return Number(row.at ?? 0) >= LATEST_MIGRATION;
  }

  private loadConfig(): TenantConfig | null {
    const row = this.ctx.storage.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'config'")
      .toArray()[0];
    return row ? (JSON.parse(row.value) as TenantConfig) : null;
  }
}
