// TenantDatabase: one per tenant, the RPC surface of the tenant's own SQLite database. Each
// data-plane method reads gate → feature module → answer: the gate (gate/gate.ts) decides rate,
// quota, status, membership and permission, and meters the call; the feature module does the
// work with its audit event in the same transaction. The object's state and its platform calls
// (no caller) are in tenant-platform.ts, which this class extends.
import { createKey, listKeys, type NewKey, revokeKey } from "./access/api-keys";
import { storedElevated } from "./access/authorize";
import { mayGiveRoles } from "./access/grants";
import { unmaskableProblem } from "./access/masking";
import { addMember, memberPage, removeMember, updateMember } from "./access/members";
import { roleExists } from "./access/role-definitions";
import { deleteRole, listRoles, putRole } from "./access/roles";
import { addShare, listShares, removeShare } from "./access/shares";
import { listAudit, verifyAudit } from "./audit/audit-log";
import { type ChangeQuery, changesPage } from "./changes/change-feed";
import * as webhooks from "./changes/webhooks";
import * as collections from "./collections/collections";
import type { OrgAction, Permission } from "./contract/access";
import type { AuditQuery } from "./contract/audit";
import { type Caller, isElevated, type ReferenceReader } from "./contract/caller";
import type { WebhookInput } from "./contract/changes";
import type { StoredObject } from "./contract/files";
import { fail, type Json, ok, type Result } from "./contract/result";
import { admitUpload, beginMultipart, checkMultipart, deleteSettled, type UploadInput } from "./files/file-calls";
import { commitUpload, deleteFileRow, listFiles, readForDownload } from "./files/file-catalog";
import { clearIntent } from "./files/file-intents";
import { recordOrgAction } from "./org/org-audit";
import { readReference } from "./org/reference";
import { erase } from "./privacy/erasure";
import { aggregateRecords } from "./records/record-aggregate";
import * as records from "./records/records";
import { searchRecords } from "./records/search-records";
import { TenantPlatform } from "./tenant-platform";
import { meView, usageReport } from "./usage/usage-report";

type Mode = "put" | "patch";
type Version = number | null;

export class TenantDatabase extends TenantPlatform {
  /** Whether a tenant user holds a permission (the control plane asks, e.g. to read its tenant). */
  async check(caller: Caller, permission: Permission) {
    return this.admit(caller, permission, (_s, p) => ok({ roles: p.roles }));
  }
  async me(caller: Caller) {
    return this.admit(caller, null, (s, p) => ok(meView(s, this.gate.meter, p)));
  }
  /** The tenant's settings as the control plane last pushed them (any member). */
  async settings(caller: Caller) {
    return this.admit(caller, null, (s) => ok(s.config.settings));
  }
  async usage(caller: Caller) {
    return this.admit(caller, "usage:read", (s) => ok(usageReport(s, this.gate.meter)));
  }

  // ---- Collections, records, search, audit, privacy ---------------------------------------
  async createCollection(caller: Caller, body: unknown) {
    return this.admit(caller, "collections:manage", (s, p) => collections.createCollection(s, p, body));
  }
  async listCollections(caller: Caller) {
    return this.admit(caller, "records:read", (s) => ok(collections.listCollections(s)));
  }
  async getCollection(caller: Caller, name: string) {
    return this.admit(caller, "records:read", (s) => collections.getCollection(s, name));
  }
  async patchCollection(caller: Caller, name: string, body: unknown) {
    return this.admit(caller, "collections:manage", (s, p) => collections.patchCollection(s, p, name, body));
  }
  async dropCollection(caller: Caller, name: string) {
    return this.admit(caller, "collections:manage", (s, p) => collections.dropCollection(s, p, name));
  }
  async createRecord(caller: Caller, name: string, body: unknown) {
    return this.admit(caller, "records:write", (s, p) => records.createRecord(s, p, name, body));
  }
  async batchRecords(caller: Caller, name: string, body: unknown) {
    return this.admit(caller, "records:write", (s, p) => records.batchRecords(s, p, name, body));
  }
  async getRecord(caller: Caller, name: string, id: string, includeDeleted: boolean) {
    return this.admit(caller, "records:read", (s, p) => records.getRecord(s, p, name, id, includeDeleted));
  }
  async listRecords(caller: Caller, name: string, params: Record<string, string>) {
    return this.admit(caller, "records:read", (s, p) => records.listRecords(s, p, name, params));
  }
  async writeRecord(caller: Caller, name: string, id: string, body: unknown, mode: Mode, ifMatch: Version) {
    return this.admit(caller, "records:write", (s, p) => records.writeRecord(s, p, name, id, body, mode, ifMatch));
  }
  async deleteRecord(caller: Caller, name: string, id: string, ifMatch: Version) {
    return this.admit(caller, "records:write", (s, p) => records.deleteRecord(s, p, name, id, ifMatch));
  }
  async restoreRecord(caller: Caller, name: string, id: string) {
    return this.admit(caller, "records:write", (s, p) => records.restoreRecord(s, p, name, id));
  }
  async aggregateRecords(caller: Caller, name: string, params: Record<string, string>) {
    return this.admit(caller, "records:read", (s, p) => aggregateRecords(s, p, name, params));
  }
  async recordHistory(caller: Caller, name: string, id: string, params: { cursor?: string; limit?: string }) {
    return this.admit(caller, "records:read", (s, p) => records.recordHistory(s, p, name, id, params));
  }
  async search(caller: Caller, text: string, collection: string | null, limit: number) {
    return this.admit(caller, "records:read", (s, p) => {
      this.gate.meter.count("searchQueries");
      return ok(searchRecords(s, p, text, collection, limit));
    });
  }
  async audit(caller: Caller, query: AuditQuery) {
    return this.admit(caller, "audit:read", (s) => {
      this.gate.flush(s); // buffered access events first: the trail shows every read so far
      return listAudit(s, query);
    });
  }
  async verifyAudit(caller: Caller) {
    return this.admit(caller, "audit:read", (s) => ok(verifyAudit(s, this.env.MASTER_KEY ?? "")));
  }
  async changes(caller: Caller, query: ChangeQuery) {
    return this.admit(caller, "records:read", (s, p) => changesPage(s, p, query));
  }
  async createWebhook(caller: Caller, body: WebhookInput) {
    const local = this.env.ALLOW_LOCAL_WEBHOOKS === "true";
    // Deliveries are judged as the registrant at each event: an elevated caller's access, checked
    // by its request alone, is never kept (authorizeStored).
    return this.admit(caller, "settings:manage", (s, p) =>
      isElevated(caller) ? storedElevated() : webhooks.createWebhook(s, p, caller, body, local),
    );
  }
  async listWebhooks(caller: Caller) {
    return this.admit(caller, "settings:manage", (s) => ok(webhooks.listWebhooks(s)));
  }
  async getWebhook(caller: Caller, id: string) {
    return this.admit(caller, "settings:manage", (s) => webhooks.getWebhook(s, id));
  }
  async deleteWebhook(caller: Caller, id: string) {
    return this.admit(caller, "settings:manage", (s, p) => webhooks.deleteWebhook(s, p, id));
  }
  async webhookDeliveries(caller: Caller, id: string, limit: number) {
    return this.admit(caller, "settings:manage", (s) => webhooks.deliveries(s, id, limit));
  }
  /** GET /v1/realtime, forwarded by the Worker with its caller (or a ticket): a hibernatable WebSocket. */
  override async fetch(request: Request) {
    return this.realtime.connect(this.tenant.store(), request);
  }
  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
    this.realtime.message(this.tenant.store(), ws, message);
  }
  async realtimeTicket(caller: Caller) {
    return this.gate.admitAsync(this.tenant.store(), caller, "records:read", async () =>
      isElevated(caller) ? storedElevated() : ok(await this.realtime.ticket(caller)),
    );
  }
  /** Erases a data subject's personal data (members:manage, within the grant rule). */
  async erase(caller: Caller, subject: string) {
    const erased = this.gate.admitAsync(this.tenant.store(), caller, "members:manage", (s, p) =>
      erase(s, this.env.FILES, this.env.MASTER_KEY ?? "", p, subject),
    );
    return this.published(await erased, "members:manage");
  }

  // ---- Organisations and reference data (DESIGN §13) ---------------------------------------
  /** Records an org:manage holder's act on a descendant in this (the managing) tenant's chain. */
  async orgAction(caller: Caller, action: OrgAction, target: string, details: { [key: string]: Json }) {
    return this.admit(caller, "org:manage", (s, p) => recordOrgAction(s, p, action, target, details, caller.requestId));
  }
  /** Who a member is here, for reading an ancestor's reference data (records:read). */
  async referenceReader(caller: Caller) {
    return this.admit(caller, "records:read", (s, p) =>
      ok<ReferenceReader>({ tenant: s.config.id, actor: p.actor, requestId: caller.requestId }),
    );
  }
  /** A descendant's member reads this tenant's shared collection (the Worker checked the tree). */
  async referenceRecords(reader: ReferenceReader, name: string, params: Record<string, string>) {
    return readReference(this.tenant.store(), reader, name, (s, p) => records.listRecords(s, p, name, params));
  }
  async referenceRecord(reader: ReferenceReader, name: string, id: string) {
    return readReference(this.tenant.store(), reader, name, (s, p) => records.getRecord(s, p, name, id, false));
  }

  // ---- Members, roles, API keys, shares ---------------------------------------------------
  async listMembers(caller: Caller, after: string | null = null, limit = 1000) {
    return this.admit(caller, "members:manage", (s) => ok(memberPage(s, after, limit)));
  }
  async addMember(caller: Caller, body: unknown) {
    return this.admit(caller, "members:manage", (s, p) => addMember(s, p, body));
  }
  async updateMember(caller: Caller, sub: string, body: unknown) {
    return this.admit(caller, "members:manage", (s, p) => updateMember(s, p, sub, body));
  }
  async removeMember(caller: Caller, sub: string) {
    return this.admit(caller, "members:manage", (s, p) => removeMember(s, p, sub));
  }
  /**
   * Whether the caller may make `name` the role anyone who signs in joins with (settings'
   * autoJoinRole): a grant like any other, within the caller's permissions and clearance.
   */
  async mayAutoJoin(caller: Caller, name: string) {
    return this.admit(caller, "settings:manage", (s, p) => {
      if (!roleExists(s.sql, name)) {
        return fail("validation_failed", `Invalid json field 'autoJoinRole': no role '${name}'.`, {
          field: "autoJoinRole",
        });
      }
      return mayGiveRoles(s, p, "(members who join)", [name]) ?? ok({ allowed: true as const });
    });
  }
  /** Any member may see the roles and what they grant. */
  async listRoles(caller: Caller) {
    return this.admit(caller, null, (s) => ok(listRoles(s)));
  }
  async putRole(caller: Caller, name: string, body: unknown) {
    return this.admit(caller, "members:manage", (s, p) => putRole(s, p, name, body));
  }
  async deleteRole(caller: Caller, name: string) {
    return this.admit(caller, "members:manage", (s, p) => deleteRole(s, p, name));
  }
  async createApiKey(caller: Caller, input: NewKey) {
    return this.admit(caller, "keys:manage", (s, p) => createKey(s, p, input));
  }
  async listApiKeys(caller: Caller) {
    return this.admit(caller, "keys:manage", (s) => ok(listKeys(s)));
  }
  async revokeApiKey(caller: Caller, id: string) {
    return this.admit(caller, "keys:manage", (s, p) => revokeKey(s, p, id));
  }
  async listShares(caller: Caller, collection: string, id: string) {
    return this.admit(caller, "records:read", (s, p) => listShares(s, p, collection, id));
  }
  async addShare(caller: Caller, collection: string, id: string, body: unknown) {
    return this.admit(caller, "records:write", (s, p) => addShare(s, p, collection, id, body));
  }
  async removeShare(caller: Caller, collection: string, id: string, shareId: string) {
    return this.admit(caller, "records:write", (s, p) => removeShare(s, p, collection, id, shareId));
  }

  // ---- Files (the Worker streams bytes to and from R2; metadata and rules live here) -------
  async fileBeginUpload(caller: Caller, input: UploadInput) {
    return this.admit(caller, "files:write", (s, p) => admitUpload(s, this.reservations, p, input));
  }
  async fileCommitUpload(caller: Caller, object: StoredObject, reservation: string | null) {
    if (reservation) this.reservations.release(reservation);
    return this.followUp(caller, "files:write", (s, p) => commitUpload(s, p, object, reservation));
  }
  async fileAbortUpload(reservation: string): Promise<Result<{ released: true }>> {
    this.reservations.release(reservation);
    const store = this.tenant.store();
    if (store) clearIntent(store, reservation); // R2 was left as it was
    return ok({ released: true });
  }
  /** Authorizes a download and meters it (the whole object's size counts as egress). */
  async fileRead(caller: Caller, path: string) {
    return this.admit(caller, "files:read", (s, p) => {
      const file = readForDownload(s, p, path);
      if (file.ok) this.gate.meter.count("egressBytes", file.value.file.size);
      return file;
    });
  }
  async fileDelete(caller: Caller, path: string) {
    return this.admit(caller, "files:write", (s, p) => deleteFileRow(s, p, path, true));
  }
  async fileDeleted(caller: Caller, path: string) {
    return this.followUp(caller, "files:write", (s) => deleteSettled(s, path));
  }
  async fileList(caller: Caller, prefix: string, cursor: string | null, limit: number, delimiter: "/" | null = null) {
    return this.admit(caller, "files:read", (s) => ok(listFiles(s, prefix, cursor, limit, delimiter)));
  }
  async multipartBegin(caller: Caller, path: string, contentType: string, uploadId: string | null) {
    return this.admit(caller, "files:write", (s, p) =>
      beginMultipart(s, this.reservations, p, path, contentType, uploadId),
    );
  }
  async multipartCheck(caller: Caller, path: string, uploadId: string, finished: boolean) {
    return this.followUp(caller, "files:write", (s) => checkMultipart(s, path, uploadId, finished));
  }
  /** Whether a tenant caller may read this tenant's exports (`export`, and `pii:read`: they are raw). */
  async checkExport(caller: Caller) {
    return this.admit(caller, "export", (_s, p) => unmaskableProblem(p, "Exports") ?? ok({ roles: p.roles }));
  }
}
