// The tenant object's platform half, which TenantDatabase (tenant-database.ts) extends with the
// data plane: the object's state (database, gate, live subscribers, upload reservations), the
// gated entry every data-plane call goes through, and the calls the control plane, sweeps and
// jobs make (no caller: the Worker has checked the platform admin). One object, one class
// hierarchy: both halves are the same Durable Object's RPC surface.
import { DurableObject } from "cloudflare:workers";
import { authorize, authorizeStored, type Principal, statusFailure } from "./access/authorize";
import { noteAccess, noteRefused } from "./audit/access-audit";
import { archiveAuditChain } from "./audit/audit-archiving";
import { listAudit, verifyAudit } from "./audit/audit-log";
import { withOrigin } from "./audit/origin";
import { Realtime } from "./changes/realtime";
import * as webhooks from "./changes/webhooks";
import type { Permission } from "./contract/access";
import type { AccessNote, AuditQuery } from "./contract/audit";
import type { Caller } from "./contract/caller";
import type { TenantConfig } from "./contract/config";
import type { JobSpec } from "./contract/jobs";
import type { AggregateSpec } from "./contract/lifecycle";
import { fail, ok, type Result } from "./contract/result";
import type { Store } from "./db/store";
import { TenantState } from "./db/tenant-state";
import { archiveStaleFiles } from "./files/file-archival";
import { Reservations } from "./files/file-catalog";
import { Gate, WRITE_PERMISSIONS } from "./gate/gate";
import * as jobs from "./jobs/job-runner";
import { fleetReport } from "./lifecycle/fleet-report";
import { applyRetention } from "./lifecycle/retention";
import type { ProvisionInput } from "./lifecycle/tenant-lifecycle";
import { aggregate } from "./records/admin-aggregate";
import { meteredStorage } from "./usage/sql-meter";
import { closedUsage, usageReport } from "./usage/usage-report";

type Work<T> = (store: Store, p: Principal) => Result<T>;

export abstract class TenantPlatform extends DurableObject<Env> {
  protected readonly tenant: TenantState;
  protected readonly gate: Gate;
  protected readonly realtime: Realtime;
  protected readonly reservations = new Reservations();
  /** The sweep instant of a retention pass that still has work (continued by the alarm). */
  protected retentionPending: string | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.gate = new Gate(ctx, () => this.tenant.db);
    // Every statement through the tenant's state is counted (rows read and written, usage/sql-meter.ts).
    this.tenant = new TenantState(meteredStorage(ctx.storage, this.gate.meter.sql), env);
    this.realtime = new Realtime(ctx, (s, caller, stored) =>
      s
        ? (stored ? authorizeStored : authorize)(() => this.tenant.db, s.storage, s.config, caller, "records:read")
        : fail("not_found", "Tenant not found."),
    );
    ctx.blockConcurrencyWhile(() => this.tenant.start(env.FILES));
  }

  // ---- Platform calls: the control plane, sweeps and jobs (no caller; checked by the Worker) ----
  async provision(input: ProvisionInput) {
    return this.tenant.provision(input);
  }
  /** Applies a configuration pushed by the control plane; stale revisions are ignored. */
  async configure(config: TenantConfig, actor: string): Promise<Result<{ revision: number }>> {
    const applied = this.tenant.configure(config, actor);
    if (applied.ok && applied.value.applied) this.gate.configure(config.limits);
    if (applied.ok && applied.value.applied) this.realtime.publish(this.tenant.store());
    return applied.ok ? ok({ revision: applied.value.revision }) : applied;
  }
  /** Migrates now if behind (the migrate sweep wakes every object for this), then reports. */
  async fleetReport() {
    await this.tenant.migrate();
    return this.platform((s) => ok(fleetReport(s, this.tenant.migrationError, this.gate.meter)));
  }
  async usageForPlatform() {
    return this.platform((s) => ok(usageReport(s, this.gate.meter)));
  }
  async auditForPlatform(query: AuditQuery) {
    return this.platform((s) => {
      this.gate.flush(s); // buffered access events first
      return listAudit(s, query);
    });
  }
  async verifyAuditForPlatform() {
    return this.platform((s) => ok(verifyAudit(s, this.env.MASTER_KEY ?? "")));
  }
  async archiveAudit() {
    return this.platform((s) => {
      this.gate.flush(s); // buffered access events belong to the chain it archives
      return archiveAuditChain(s, this.env.FILES);
    });
  }
  /** One tenant's part of a platform admin's cross-tenant query (read-only). */
  async aggregate(spec: AggregateSpec) {
    return this.platform((s) => statusFailure(s.config) ?? aggregate(s, spec));
  }
  /** Applies retention at `now` (the sweep's clock); continues by alarm when there is more. */
  async retention(now: string) {
    return this.platform(async (s) => {
      const result = applyRetention(s, this.env.MASTER_KEY ?? "", new Date(now));
      this.retentionPending = result.more ? now : null;
      if (result.more) await this.ctx.storage.setAlarm(Date.now() + 1000);
      return ok(result);
    });
  }
  /** An access the Worker saw (an export part downloaded, a refused token naming this tenant). */
  async noteAccess(note: AccessNote) {
    return this.platform((s) => {
      const { ip, userAgent, action, ...rest } = note;
      const input = { ...rest, action, success: action !== "auth.refused" };
      (action === "auth.refused" ? noteRefused : noteAccess)(s.storage, input, { ip, userAgent });
      this.gate.flushSoon(s);
      return ok({ noted: true });
    });
  }
  /** Moves files not read for settings.archiveAfterDays to R2 Infrequent Access (the daily sweep). */
  async archiveFiles(now: string) {
    return this.platform((s) => archiveStaleFiles(s, this.env.FILES, new Date(now)));
  }
  /** Usage of every closed period (before the current month), for the billing rollup. */
  async closedUsage() {
    return this.platform((s) => ok(closedUsage(s, this.gate.meter)));
  }
  /** Starts an export, backup, import or restore (a restore: the data plane answers 503 until done). */
  async startJob(spec: JobSpec) {
    return this.platform((s) => jobs.startJob(s, spec, this.env));
  }
  async listBackups(before: string | null, limit: number) {
    return this.platform((s) => ok(jobs.listBackups(s, before, limit)));
  }
  async restorePoint(at: string) {
    return this.platform((s) => jobs.restoreToTime(s, this.ctx, new Date(at)));
  }
  async startRekey() {
    return this.platform((s) => jobs.startRekey(s));
  }
  async rekeyStatus() {
    return this.platform((s) => jobs.rekeyStatus(s));
  }
  async job(id: string) {
    return this.platform((s) => jobs.jobById(s, id));
  }
  /** Hard delete: the whole database and any alarm. The object answers 404 from now on. */
  async wipe() {
    // Events appended since the deletion archived the chain (a push, an admin's access, buffered
    // reads) go to the archive first: the audit trail outlives the data, all of it.
    const store = this.tenant.store();
    if (store && !store.config.legalHold) {
      this.gate.flush(store);
      const archived = await archiveAuditChain(store, this.env.FILES);
      if (!archived.ok) return archived;
      if (!archived.value.complete) return fail("conflict", "The tenant's audit chain is still being archived.");
    }
    const wiped = await this.tenant.wipe();
    if (wiped.ok) {
      this.gate.reset();
      this.retentionPending = null;
    }
    return wiped;
  }

  /** One alarm serves every deferred job: the usage flush, retention's continuation, job steps. */
  override async alarm(): Promise<void> {
    // Jobs (a restore) write members and roles: the principal cache is dropped around them.
    await this.tenant.platformRun(
      async (store) => {
        this.gate.alarmed(store);
        if (this.retentionPending) await this.retention(this.retentionPending);
        const next: number[] = [];
        if (await jobs.stepJobs(store, this.env)) next.push(Date.now() + jobs.JOB_STEP_DELAY_MS);
        const hooks = await this.webhookStep(store);
        if (hooks !== null) next.push(hooks);
        if (next.length) await this.ctx.storage.setAlarm(Math.min(...next));
      },
      () => undefined,
    );
  }
  /** The webhook outbox's step: new events taken in, due deliveries sent; when it is next due. */
  private async webhookStep(store: Store): Promise<number | null> {
    if (!webhooks.hasWebhooks(store)) return null;
    const judge = (s: Store, caller: Caller) =>
      authorizeStored(() => this.tenant.db, s.storage, s.config, caller, "records:read");
    webhooks.enqueue(store, judge);
    const sent = await webhooks.sendDue(store, judge);
    if (sent.sent) {
      this.gate.meter.count("webhookDeliveries", sent.sent);
      this.gate.flush(store);
    }
    return sent.nextAt;
  }
  /** Wakes the alarm at once for the outbox (never moving an earlier alarm later). */
  protected wakeOutbox(store: Store): void {
    if (!webhooks.hasWebhooks(store)) return;
    this.ctx.waitUntil(
      (async () => {
        const current = await this.ctx.storage.getAlarm();
        if (current === null || current > Date.now()) await this.ctx.storage.setAlarm(Date.now());
      })(),
    );
  }
  /** The audit events a call appends carry its caller's ip and user agent (audit/origin.ts). */
  protected admit<T>(caller: Caller, permission: Permission | null, work: Work<T>) {
    const answer = withOrigin(caller, () => this.gate.admit(this.tenant.store(), caller, permission, work));
    return this.published(answer, permission);
  }
  protected followUp<T>(caller: Caller, permission: Permission, work: Work<T>) {
    const answer = withOrigin(caller, () => this.gate.followUp(this.tenant.store(), caller, permission, work));
    return this.published(answer, permission);
  }
  /** After a write commits, live subscribers get its events (and lose a withdrawn access). */
  protected published<A extends { ok: boolean }>(answer: A, permission: Permission | null): A {
    const store = this.tenant.store();
    if (answer.ok && permission && WRITE_PERMISSIONS.has(permission) && store) {
      this.realtime.publish(store);
      this.wakeOutbox(store);
    }
    return answer;
  }

  /** A platform call: the tenant must exist; the Worker has checked the platform admin. */
  protected async platform<T>(work: (store: Store) => Result<T> | Promise<Result<T>>): Promise<Result<T>> {
    return this.tenant.platformRun(work, () => fail("not_found", "Tenant not found."));
  }
}
