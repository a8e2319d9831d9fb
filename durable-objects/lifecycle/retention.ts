// Retention inside one tenant: soft-deleted records purged after softDeleteDays, old versions
// trimmed after historyDays (the latest version of a record always stays), audit events trimmed
// after auditRetentionDays behind a signed checkpoint, change-log events after changeLogDays,
// idempotency keys expired. Bounded per
// call; `more` tells the caller (the tenant's alarm) to continue. A legal hold stops everything.

import { type AuditCheckpoint, appendAudit, checkpointSignature } from "../audit/audit-chain";
import { forgetRecordEvents, trimChanges } from "../changes/change-log";
import { legalHoldFailure } from "../contract/legal-hold";
import type { RetentionResult } from "../contract/lifecycle";
import type { Store } from "../db/store";
import { IDEMPOTENCY_TTL_MS } from "../gate/idempotency";
import { bumpRecords } from "../records/record-writes";
import * as ddl from "../sql/ddl";
import * as sqlIds from "../sql/identifiers";
import * as sel from "../sql/select";

const DAY = 86_400_000;

export function readCheckpoint(store: Store): AuditCheckpoint | null {
  const row = store.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'audit_checkpoint'").toArray()[0];
  return row ? (JSON.parse(row.value) as AuditCheckpoint) : null;
}

export function applyRetention(store: Store, masterKey: string, now: Date, budget = 500): RetentionResult {
  const result: RetentionResult = {
    held: legalHoldFailure(store.config, "Retention") !== null,
    recordsPurged: 0,
    versionsTrimmed: 0,
    auditTrimmed: 0,
    idempotencyExpired: 0,
    changesTrimmed: 0,
    more: false,
  };
  if (result.held) return result;
  const { softDeleteDays, historyDays, auditRetentionDays, changeLogDays } = store.config.settings;
  const iso = (days: number) => new Date(now.getTime() - days * DAY).toISOString();

  store.storage.transactionSync(() => {
    const collections = store.sql.exec<{ name: string }>("SELECT name FROM collections ORDER BY name").toArray();
    for (const { name } of collections) {
      const ids = sqlIds.exec<{ id: string }>(store.sql, sel.purgeableIds(name, iso(softDeleteDays), budget)).toArray();
      for (const { id } of ids) {
        sqlIds.exec(store.sql, ddl.deleteRow(name, id));
        store.sql.exec("DELETE FROM record_versions WHERE collection = ? AND record_id = ?", name, id);
        store.sql.exec("DELETE FROM shares WHERE collection = ? AND record_id = ?", name, id);
        forgetRecordEvents(store, name, id);
      }
      result.recordsPurged += ids.length;
      if (ids.length === budget) result.more = true;
    }
    if (result.recordsPurged > 0) bumpRecords(store, -result.recordsPurged);

    // The latest version of every record stays, so as_of and history always reach its present.
    const oldVersions = `SELECT v.rowid FROM record_versions v
        WHERE v.at < ? AND v.version < (SELECT max(w.version) FROM record_versions w
                                         WHERE w.collection = v.collection AND w.record_id = v.record_id)
        LIMIT ?`;
    result.versionsTrimmed = store.sql
      .exec<{ n: number }>(`SELECT count(*) AS n FROM (${oldVersions})`, iso(historyDays), budget)
      .one().n;
    store.sql.exec(`DELETE FROM record_versions WHERE rowid IN (${oldVersions})`, iso(historyDays), budget);
    if (result.versionsTrimmed === budget) result.more = true;

    const expiredBefore = new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString();
    result.idempotencyExpired = store.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM idempotency_keys WHERE created_at < ?", expiredBefore)
      .one().n;
    store.sql.exec("DELETE FROM idempotency_keys WHERE created_at < ?", expiredBefore);

    result.auditTrimmed = trimAudit(store, masterKey, iso(auditRetentionDays), budget);
    if (result.auditTrimmed === budget) result.more = true;

    result.changesTrimmed = trimChanges(store, iso(changeLogDays ?? 7), budget);
    if (result.changesTrimmed === budget) result.more = true;

    const changed =
      result.recordsPurged +
      result.versionsTrimmed +
      result.auditTrimmed +
      result.idempotencyExpired +
      result.changesTrimmed;
    if (changed > 0) {
      appendAudit(store.db, {
        actor: "system:retention",
        action: "retention.applied",
        resource: "tenant",
        success: true,
        details: { ...result, held: undefined, more: undefined },
      });
    }
  });
  return result;
}

/**
 * Deletes the oldest audit events before `cutoff` and moves the checkpoint to the last one
 * deleted: its hash, signed with a key derived from MASTER_KEY, anchors verification of the rest.
 */
function trimAudit(store: Store, masterKey: string, cutoff: string, budget: number): number {
  const last = store.sql
    .exec<{ seq: number; hash: string; at: string }>(
      "SELECT seq, hash, at FROM audit_events WHERE at < ? ORDER BY seq DESC LIMIT 1",
      cutoff,
    )
    .toArray()[0];
  if (!last) return 0;
  const first = store.sql.exec<{ seq: number }>("SELECT min(seq) AS seq FROM audit_events").one().seq;
  const upTo = Math.min(last.seq, first + budget - 1);
  const anchor = store.sql
    .exec<{ seq: number; hash: string; at: string }>("SELECT seq, hash, at FROM audit_events WHERE seq = ?", upTo)
    .one();
  store.sql.exec("DELETE FROM audit_events WHERE seq <= ?", upTo);
  // An erasure's redaction signatures go with the events they vouch for.
  store.sql.exec("DELETE FROM meta WHERE key LIKE 'audit_redaction:%' AND CAST(substr(key, 17) AS INTEGER) <= ?", upTo);
  const trimmed = upTo - first + 1;
  const checkpoint: AuditCheckpoint = {
    seq: anchor.seq,
    hash: anchor.hash,
    at: anchor.at,
    signature: checkpointSignature(masterKey, anchor.seq, anchor.hash),
  };
  store.sql.exec(
    "INSERT INTO meta (key, value) VALUES ('audit_checkpoint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    JSON.stringify(checkpoint),
  );
  return trimmed;
}
