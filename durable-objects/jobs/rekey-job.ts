// Data key rotation: every encrypted value (in records and in their stored versions) is
// re-encrypted under the current data key, with its blind index, a chunk per alarm. Reads keep
// working throughout: the key ring opens values under the old key until they are rewritten.
import { appendAudit } from "../audit/audit-chain";
import { aliasesOf, type CollectionDef } from "../collections/collection-schema";
import { blindColumn } from "../crypto/field-cipher";
import type { Store } from "../db/store";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { type ObjectsRekey, rekeyObjects } from "./rekey-objects";

export interface RekeyState {
  collections: string[];
  index: number;
  phase: "rows" | "versions";
  after: string | number;
  counts: { values: number; objects?: number };
  keyId: string;
  /** R2 objects being re-sealed (rekey-objects.ts), once every value is; `done` after them. */
  objects?: ObjectsRekey | "done";
}

const encryptedCollections = (store: Store): CollectionDef[] =>
  store.sql
    .exec<{ definition: string }>("SELECT definition FROM collections ORDER BY name")
    .toArray()
    .map((r) => JSON.parse(r.definition) as CollectionDef)
    .filter((d) => d.fields.some((f) => f.encrypted));

export function newRekeyState(store: Store): RekeyState {
  return {
    collections: encryptedCollections(store).map((d) => d.name),
    index: 0,
    phase: "rows",
    after: "",
    counts: { values: 0 },
    keyId: store.cipher().keyId,
  };
}

/** Re-encrypts up to `limit` rows or versions; synchronous, so it runs in one transaction. */
export function rekeyStep(store: Store, state: RekeyState, limit: number): { state: RekeyState; finished: boolean } {
  const s: RekeyState = { ...state, counts: { ...state.counts } };
  const ring = store.cipher();
  const name = s.collections[s.index];
  if (name === undefined) {
    if (s.objects !== "done") {
      s.objects ??= { stage: "files", after: null, objects: 0 };
      return { state: s, finished: false };
    }
    appendAudit(store.db, {
      actor: "system:rekey",
      action: "data_key.rotated",
      resource: "tenant",
      success: true,
      details: { keyId: s.keyId, values: s.counts.values, objects: s.counts.objects ?? 0 },
    });
    return { state: s, finished: true };
  }
  const def = JSON.parse(
    store.sql.exec<{ definition: string }>("SELECT definition FROM collections WHERE name = ?", name).one().definition,
  ) as CollectionDef;
  const sealed = def.fields.filter((f) => f.encrypted);
  if (s.phase === "rows") {
    const rows = ids
      .exec<Record<string, SqlStorageValue>>(store.sql, sel.rowsAfter(name, s.after as string, limit))
      .toArray();
    for (const row of rows) {
      const set: Record<string, SqlStorageValue> = {};
      for (const f of sealed) {
        const value = row[f.name];
        if (value === null || ring.isCurrent(value)) continue;
        const plain = ring.decrypt(value);
        set[f.name] = ring.encrypt(plain);
        set[blindColumn(f.name)] = ring.blindIndex(name, f.name, plain);
        s.counts.values++;
      }
      if (Object.keys(set).length) ids.exec(store.sql, ddl.updateRow(name, row.id as string, set));
    }
    if (rows.length < limit) Object.assign(s, { phase: "versions", after: 0 });
    else s.after = rows[rows.length - 1]?.id as string;
    return { state: s, finished: false };
  }
  const names = sealed.flatMap((f) => aliasesOf(def, f.name));
  const versions = store.sql
    .exec<{ rid: number; data: string }>(
      "SELECT rowid AS rid, data FROM record_versions WHERE collection = ? AND rowid > ? ORDER BY rowid LIMIT ?",
      name,
      s.after as number,
      limit,
    )
    .toArray();
  for (const v of versions) {
    const data = JSON.parse(v.data) as Record<string, unknown>;
    let changed = false;
    for (const key of names) {
      if (data[key] === null || data[key] === undefined || ring.isCurrent(data[key])) continue;
      data[key] = ring.encrypt(ring.decrypt(data[key]));
      changed = true;
      s.counts.values++;
    }
    if (changed) store.sql.exec("UPDATE record_versions SET data = ? WHERE rowid = ?", JSON.stringify(data), v.rid);
  }
  if (versions.length < limit) Object.assign(s, { index: s.index + 1, phase: "rows", after: "" });
  else s.after = versions[versions.length - 1]?.rid as number;
  return { state: s, finished: false };
}

/** The R2 half of a rotation: re-seals a few objects (awaits R2, so outside any transaction). */
export async function rekeyObjectsStep(store: Store, bucket: R2Bucket, state: RekeyState, limit: number) {
  const at = state.objects as ObjectsRekey;
  const next = await rekeyObjects(store, bucket, at, limit);
  const objects = next?.objects ?? at.objects;
  return {
    state: { ...state, objects: next ?? ("done" as const), counts: { ...state.counts, objects } },
    finished: false,
  };
}
