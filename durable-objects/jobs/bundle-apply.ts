// Applying one verified part of a bundle to the tenant's database, synchronously (inside the
// caller's transaction): collections with their DDL, records, versions, members, roles, shares
// and file rows. Encrypted values are re-sealed under this tenant's key on the way in (a fork
// brings another tenant's ciphertext; a restore may bring values under a rotated-out key).
import { type CollectionDef, columnsOf } from "../collections/collection-schema";
import { applyIndexes } from "../collections/collections";
import { blindColumn, type KeyRing } from "../crypto/field-cipher";
import type { Store } from "../db/store";
import { rowToRecord } from "../records/record-codec";
import { bumpRecords } from "../records/record-writes";
import { indexRecord } from "../records/search";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { ndjsonLines } from "./bundle";

/** Opens the bundle's ciphertext (the source tenant's keys) and seals it under this tenant's. */
export class Resealer {
  constructor(
    private readonly source: KeyRing,
    private readonly target: KeyRing,
    /** The same tenant: values already under its current key stay as they are. */
    private readonly same: boolean,
  ) {}

  private keep(value: unknown) {
    return value === null || value === undefined || (this.same && this.target.isCurrent(value));
  }

  /** A collection row: each encrypted column re-sealed, its blind index recomputed. */
  row(def: CollectionDef, row: Record<string, SqlStorageValue>): Record<string, SqlStorageValue> {
    const out = { ...row };
    for (const f of def.fields) {
      if (!f.encrypted || this.keep(row[f.name])) continue;
      const plain = this.source.decrypt(row[f.name]);
      out[f.name] = this.target.encrypt(plain);
      out[blindColumn(f.name)] = this.target.blindIndex(def.name, f.name, plain);
    }
    return out;
  }

  /** A version's data: every sealed value (also of fields since renamed or dropped) re-sealed. */
  version(data: string): string {
    const parsed = JSON.parse(data) as Record<string, unknown>;
    let changed = false;
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== "string" || !value.startsWith("e1.") || this.keep(value)) continue;
      parsed[key] = this.target.encrypt(this.source.decrypt(value));
      changed = true;
    }
    return changed ? JSON.stringify(parsed) : data;
  }
}

const definitionOf = (store: Store, name: string) =>
  JSON.parse(
    store.sql.exec<{ definition: string }>("SELECT definition FROM collections WHERE name = ?", name).one().definition,
  ) as CollectionDef;

const bump = (counts: Record<string, number>, key: string, n: number) => {
  counts[key] = (counts[key] ?? 0) + n;
};

/**
 * Applies one part by its name (`collections.json`, `records/<c>/…`, `history/<c>/…`, `members/…`,
 * `roles/…`, `shares/…`, `files/…`); audit and settings parts are the caller's business.
 */
export function applyPart(
  store: Store,
  name: string,
  text: string,
  counts: Record<string, number>,
  reseal: Resealer,
): void {
  const [section, collection] = name.split("/") as [string, string | undefined];
  const now = new Date().toISOString();
  switch (section) {
    case "collections.json":
      for (const entry of JSON.parse(text) as (CollectionDef & { createdAt?: string; updatedAt?: string })[]) {
        const { createdAt, updatedAt, ...def } = entry;
        ids.exec(store.sql, ddl.createTable(def.name, def.fields.flatMap(columnsOf)));
        applyIndexes(store, def);
        store.sql.exec(
          "INSERT INTO collections (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?)",
          def.name,
          JSON.stringify(def),
          createdAt ?? now,
          updatedAt ?? now,
        );
        store.defs.delete(def.name);
      }
      return;
    case "records": {
      const def = definitionOf(store, collection as string);
      const rows = ndjsonLines(text);
      for (const raw of rows) {
        const row = reseal.row(def, raw);
        ids.exec(store.sql, ddl.insertRow(def.name, row));
        if (row.deleted_at === null) indexRecord(store, def, rowToRecord(def, row));
      }
      bumpRecords(store, rows.length);
      bump(counts, `records:${collection}`, rows.length);
      return;
    }
    case "history": {
      const rows = ndjsonLines(text);
      for (const r of rows) {
        store.sql.exec(
          "INSERT INTO record_versions (collection, record_id, version, op, data, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          collection as string,
          r.record_id,
          r.version,
          r.op,
          reseal.version(String(r.data)),
          r.actor,
          r.at,
        );
      }
      bump(counts, `history:${collection}`, rows.length);
      return;
    }
    case "members": {
      const rows = ndjsonLines(text);
      for (const m of rows) {
        store.sql.exec(
          "INSERT INTO members (sub, roles, email, display_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sub) DO NOTHING",
          m.sub,
          m.roles,
          m.email,
          m.display_name,
          m.created_at,
          m.updated_at,
        );
      }
      bump(counts, "members", rows.length);
      return;
    }
    case "roles": {
      const rows = ndjsonLines(text);
      for (const r of rows) {
        store.sql.exec(
          "INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
          r.name,
          r.permissions,
          r.created_at,
          r.updated_at,
        );
      }
      bump(counts, "roles", rows.length);
      return;
    }
    case "shares": {
      const rows = ndjsonLines(text);
      for (const r of rows) {
        store.sql.exec(
          "INSERT INTO shares (id, collection, record_id, principal, permission, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          r.id,
          r.collection,
          r.record_id,
          r.principal,
          r.permission,
          r.created_by,
          r.created_at,
        );
      }
      bump(counts, "shares", rows.length);
      return;
    }
    case "files": {
      const rows = ndjsonLines(text);
      for (const row of rows) ids.exec(store.sql, sel.insertInto("files", row));
      bump(counts, "files", rows.length);
      return;
    }
    default:
      return;
  }
}
