// The tenant's change log (DESIGN §10), the only writer of change_events: every committed change
// appends one event inside its own transactionSync, so an aborted write leaves none and `seq` is
// gapless. Trimming by retention moves a floor (meta 'changes_trimmed'): a reader behind it has
// lost events and is told so (410 changes_expired) rather than served a silent gap.
import { and, asc, eq, gt } from "drizzle-orm";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { sqlOf } from "../audit/audit-chain";
import type { ChangeEvent, ChangeType } from "../contract/changes";
import type { ApiRecord } from "../contract/records";
import { changeEvents } from "../db/schema";
import type { Store } from "../db/store";

// biome-ignore lint/suspicious/noExplicitAny: the schema type parameter is irrelevant here
type Db = DrizzleSqliteDODatabase<any> & { $client: DurableObjectStorage };

export interface ChangeInput {
  type: ChangeType;
  actor: string;
  collection?: string | null;
  id?: string | null;
  version?: number | null;
  record?: ApiRecord;
}

const TRIMMED_KEY = "changes_trimmed";

/**
 * Appends one event; call inside the transaction of the change it describes (no await). A plain
 * statement (every mutation runs it); `record` is stored as drizzle's JSON column would be.
 */
export function appendChange(target: Db | SqlStorage, input: ChangeInput, now = new Date()): void {
  // The next seq follows the newest event, or the trim floor when every event was trimmed.
  sqlOf(target).exec(
    `INSERT INTO change_events (seq, at, type, collection, resource_id, version, actor, record)
     VALUES ((SELECT coalesce(max(seq), (SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?), 0) + 1 FROM change_events),
             ?, ?, ?, ?, ?, ?, ?)`,
    TRIMMED_KEY,
    now.toISOString(),
    input.type,
    input.collection ?? null,
    input.id ?? null,
    input.version ?? null,
    input.actor,
    input.record === undefined || input.record === null ? null : JSON.stringify(input.record),
  );
}

/** The record event of a record write (record-writes.ts calls this beside its audit event). */
export const RECORD_CHANGE: Record<string, ChangeType> = {
  "record.create": "record.created",
  "record.update": "record.updated",
  "record.delete": "record.deleted",
  "record.restore": "record.restored",
};

/** The highest seq retention has trimmed (0 when nothing was): events after it are all kept. */
export function trimmedThrough(store: Store): number {
  const row = store.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", TRIMMED_KEY).toArray()[0];
  return row ? Number(row.value) : 0;
}

/** The newest seq: of the newest event, or the trim floor when every event was trimmed. */
export function latestSeq(store: Store): number {
  return (
    store.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM change_events").one().seq ??
    trimmedThrough(store)
  );
}

/** Events after `after` in seq order, optionally of one collection. */
export function changesAfter(store: Store, after: number, collection: string | null, limit: number): ChangeEvent[] {
  const where = collection
    ? and(gt(changeEvents.seq, after), eq(changeEvents.collection, collection))
    : gt(changeEvents.seq, after);
  return store.db
    .select()
    .from(changeEvents)
    .where(where)
    .orderBy(asc(changeEvents.seq))
    .limit(limit)
    .all()
    .map((r) => ({
      seq: r.seq,
      at: r.at,
      type: r.type as ChangeType,
      collection: r.collection,
      id: r.resourceId,
      version: r.version,
      actor: r.actor,
      ...(r.record ? { record: r.record as ApiRecord } : {}),
    }));
}

/** Deletes up to `budget` of the oldest events before `cutoff`, moving the floor; the count trimmed. */
export function trimChanges(store: Store, cutoff: string, budget: number): number {
  const last = store.sql
    .exec<{ seq: number | null }>(
      "SELECT max(seq) AS seq FROM (SELECT seq FROM change_events WHERE at < ? ORDER BY seq LIMIT ?)",
      cutoff,
      budget,
    )
    .one().seq;
  if (last === null) return 0;
  const trimmed = store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM change_events WHERE seq <= ?", last).one().n;
  store.sql.exec("DELETE FROM change_events WHERE seq <= ?", last);
  store.sql.exec(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    TRIMMED_KEY,
    String(last),
  );
  return trimmed;
}

/**
 * A restore replaced the data: no event before it describes the data any more, so the whole log
 * is expired (readers behind it get changes_expired and read the data again); seq goes on.
 */
export function expireAll(store: Store): void {
  trimChanges(store, "9999", Number.MAX_SAFE_INTEGER);
}

/** Erasure: the pii values at `jsonPaths` are blanked in every event of one record. */
export function scrubChanges(store: Store, collection: string, id: string, jsonPaths: string[]): void {
  if (jsonPaths.length === 0) return;
  store.sql.exec(
    `UPDATE change_events SET record = json_set(record, ${jsonPaths.map(() => "?, NULL").join(", ")})
     WHERE collection = ? AND resource_id = ? AND record IS NOT NULL`,
    ...jsonPaths,
    collection,
    id,
  );
}

/**
 * A hard delete (a dropped collection, a purged record) takes the record events' copies of the
 * data with it; the collection's own events stay. Never under legal hold: those paths refuse.
 */
export function forgetRecordEvents(store: Store, collection: string, id: string | null = null): void {
  store.sql.exec(
    "DELETE FROM change_events WHERE collection = ? AND type LIKE 'record.%' AND (? IS NULL OR resource_id = ?)",
    collection,
    id,
    id,
  );
}
