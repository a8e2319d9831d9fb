// Pages of the change log as one principal may see them (GET /v1/changes): a record event only
// when readableRecord (the rule every read uses) lets the reader see that record, its record
// masked as in reads; file events need files:read, member events members:manage; collection
// events go to every reader (records:read, which the feed itself takes). Skipped events leave
// their seq out: the gap shows, nothing else does.
import type { Principal } from "../access/authorize";
import { readableRecord } from "../access/record-access";
import type { CollectionDef } from "../collections/collection-schema";
import { loadDefinition } from "../collections/collections";
import type { ChangeEvent, ChangeQuery } from "../contract/changes";

export type { ChangeQuery };

import type { ApiRecord, Page } from "../contract/records";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import { renameSnapshot, rowToRecord } from "../records/record-codec";
import { readRow } from "../records/record-writes";
import { changesAfter, trimmedThrough } from "./change-log";

/** Rows read per step, and at most per page, however few of them the reader may see. */
const STEP = 200;
const MAX_SCANNED = 10_000;

const integerParam = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));

/**
 * The log is not re-encrypted by a data key rotation (its events outlive no more than
 * changeLogDays): a value sealed under a key since destroyed is shown as null, not a failed page.
 */
function openable(store: Store, def: CollectionDef, rec: ApiRecord): ApiRecord {
  const sealed = def.fields.filter((f) => f.encrypted && rec[f.name] !== null && rec[f.name] !== undefined);
  if (sealed.length === 0) return rec;
  const out = { ...rec };
  for (const f of sealed) {
    try {
      store.cipher().decrypt(out[f.name]);
    } catch {
      out[f.name] = null;
    }
  }
  return out;
}

/** The event as `p` may see it, or null. `current` caches each record's present state per page. */
export function visibleEvent(
  store: Store,
  p: Principal,
  e: ChangeEvent,
  current: Map<string, ApiRecord | null>,
): ChangeEvent | null {
  switch (e.type) {
    case "collection.changed":
      return p.permissions.has("records:read") ? e : null;
    case "file.put":
    case "file.deleted":
      return p.permissions.has("files:read") ? e : null;
    case "member.changed":
      return p.permissions.has("members:manage") ? e : null;
  }
  const def = e.collection ? loadDefinition(store, e.collection) : null;
  if (!def || !e.id || !e.record) return null;
  const key = `${def.name}/${e.id}`;
  if (!current.has(key)) {
    const row = readRow(store, def.name, e.id);
    current.set(key, row ? rowToRecord(def, row) : null);
  }
  const snapshot = openable(store, def, renameSnapshot(def, e.record));
  // Judged on the record as it stands, as a read is; a record gone from its table by its snapshot.
  const record = readableRecord(store, p, def, current.get(key) ?? snapshot, snapshot);
  return record ? { ...e, record } : null;
}

export function changesPage(store: Store, p: Principal, query: ChangeQuery): Result<Page<ChangeEvent>> {
  const limit = integerParam(query.limit, 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return fail("validation_failed", "limit is 1 to 1000.");
  const since = integerParam(query.since, 0);
  if (!Number.isInteger(since) || since < 0)
    return fail("validation_failed", "since is a seq (an integer, 0 or more).");
  const floor = trimmedThrough(store);
  if (query.since !== undefined && since < floor) {
    return fail("changes_expired", `Events up to ${floor} are no longer kept; start again from a read of the data.`);
  }
  const collection = query.collection ?? null;
  const current = new Map<string, ApiRecord | null>();
  const items: ChangeEvent[] = [];
  let after = since;
  let scanned = 0;
  let more = false;
  while (items.length < limit && scanned < MAX_SCANNED) {
    const rows = changesAfter(store, after, collection, STEP);
    for (const e of rows) {
      if (items.length === limit || scanned === MAX_SCANNED) {
        more = true;
        break;
      }
      scanned++;
      after = e.seq;
      const seen = visibleEvent(store, p, e, current);
      if (seen) items.push(seen);
    }
    if (more || rows.length < STEP) break;
  }
  if (!more && (items.length === limit || scanned === MAX_SCANNED))
    more = changesAfter(store, after, collection, 1).length > 0;
  return ok({ items, nextCursor: more ? String(after) : null });
}
