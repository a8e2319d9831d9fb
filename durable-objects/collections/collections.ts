// Collections are real tables in the tenant's database. Creating or changing one runs real DDL
// with its definition row and audit event in one transaction.

import { eq } from "drizzle-orm";
import type { Principal } from "../access/authorize";
import { appendAudit } from "../audit/audit-chain";
import { appendChange, forgetRecordEvents } from "../changes/change-log";
import { CreateCollectionSchema, type PatchCollection, PatchCollectionSchema } from "../contract/collections";
import { legalHoldFailure } from "../contract/legal-hold";
import { fail, failFromZod, ok, type Result } from "../contract/result";
import { blindColumn } from "../crypto/field-cipher";
import { collections, recordVersions, shares } from "../db/schema";
import { Abort, inTransaction, isFailure, type Store } from "../db/store";
import { encodeFields } from "../records/record-codec";
import { defaultProblem } from "../records/record-validation";
import { bumpRecords } from "../records/record-writes";
import { removeCollectionFromIndex } from "../records/search";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import {
  aliasesOf,
  type CollectionDef,
  columnsOf,
  definitionProblem,
  type FieldDef,
  indexColumn,
  piiNames,
} from "./collection-schema";

export interface CollectionView extends CollectionDef {
  createdAt: string;
  updatedAt: string;
}

export function loadDefinition(store: Store, name: string): CollectionDef | null {
  const cached = store.defs.get(name);
  if (cached) return cached;
  if (!ids.isIdentifier(name)) return null;
  // Plain SQL: this runs on the first request of every freshly started object.
  const row = store.sql
    .exec<{ definition: string }>("SELECT definition FROM collections WHERE name = ?", name)
    .toArray()[0];
  if (!row) return null;
  const def = JSON.parse(row.definition) as CollectionDef;
  store.defs.set(name, def);
  return def;
}

const actor = (p: Principal) => p.actor;

/**
 * An index's name must be this collection's: another collection's index of the same name (`a` with
 * index `f_b` beside `a_x` with field `b`) would silently stand in for it, a unique rule unkept.
 */
function claimIndex(store: Store, collection: string, suffix: string): void {
  const held = store.sql
    .exec<{ table: string }>(
      "SELECT tbl_name AS \"table\" FROM sqlite_master WHERE type = 'index' AND name = ?",
      ids.indexId(collection, suffix),
    )
    .toArray()[0];
  if (held && held.table !== ids.collectionTableId(collection)) {
    throw new Abort(
      fail("conflict", `The index name '${ids.indexId(collection, suffix)}' is taken by another collection.`),
    );
  }
}

export function applyIndexes(store: Store, def: CollectionDef) {
  for (const f of def.fields) {
    if (f.unique || f.indexed) {
      claimIndex(store, def.name, `f_${f.name}`);
      ids.exec(store.sql, ddl.createIndex(def.name, `f_${f.name}`, [indexColumn(def, f.name)], Boolean(f.unique)));
    }
  }
  for (const ix of def.indexes) {
    claimIndex(store, def.name, `x_${ix.name}`);
    ids.exec(
      store.sql,
      ddl.createIndex(
        def.name,
        `x_${ix.name}`,
        ix.fields.map((n) => indexColumn(def, n)),
        ix.unique,
      ),
    );
  }
}

export function createCollection(store: Store, p: Principal, body: unknown): Result<CollectionView> {
  const parsed = CreateCollectionSchema.safeParse(body);
  if (!parsed.success) return failFromZod(parsed.error);
  const def: CollectionDef = { ...parsed.data, renames: {} };
  const problem = definitionProblem(def) ?? def.fields.map(defaultProblem).find(Boolean) ?? null;
  if (problem) return fail("validation_failed", problem);
  if (loadDefinition(store, def.name)) return fail("conflict", `Collection '${def.name}' exists.`);
  const now = new Date().toISOString();
  const result = inTransaction(store, () => {
    const count = store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM collections").one().n;
    if (count >= store.config.limits.maxCollections) {
      throw new Abort(
        fail("quota_exceeded", `This tenant may have ${store.config.limits.maxCollections} collections.`, {
          limit: store.config.limits.maxCollections,
          current: count,
        }),
      );
    }
    ids.exec(store.sql, ddl.createTable(def.name, def.fields.flatMap(columnsOf)));
    applyIndexes(store, def);
    store.db
      .insert(collections)
      .values({ name: def.name, definition: def as never, createdAt: now, updatedAt: now })
      .run();
    appendAudit(store.db, {
      actor: actor(p),
      action: "collection.create",
      resource: `collection:${def.name}`,
      success: true,
      details: { fields: def.fields.map((f) => f.name), acl: def.acl, shared: def.shared === true },
    });
    appendChange(store.db, { type: "collection.changed", actor: actor(p), collection: def.name });
    return { ...def, createdAt: now, updatedAt: now };
  });
  if (isFailure(result)) return result;
  store.defs.set(def.name, def);
  return ok(result);
}

export function listCollections(store: Store): CollectionView[] {
  return store.db
    .select()
    .from(collections)
    .orderBy(collections.name)
    .all()
    .map((r) => ({ ...r.definition, createdAt: r.createdAt, updatedAt: r.updatedAt }));
}

export function getCollection(store: Store, name: string): Result<CollectionView> {
  const row = ids.isIdentifier(name)
    ? store.db.select().from(collections).where(eq(collections.name, name)).get()
    : null;
  if (!row) return fail("not_found", `Collection '${name}' not found.`);
  return ok({ ...row.definition, createdAt: row.createdAt, updatedAt: row.updatedAt });
}

/** Applies a PATCH to a definition in memory; the DDL follows from the same plan. */
function plan(def: CollectionDef, change: PatchCollection): Result<CollectionDef> {
  let fields = [...def.fields];
  const renames = { ...def.renames };
  let indexes = [...def.indexes];
  const formerPii = new Set(def.formerPii ?? []);
  for (const name of change.drop ?? []) {
    const dropped = fields.find((f) => f.name === name);
    if (!dropped) return fail("validation_failed", `Unknown field '${name}' in drop.`);
    fields = fields.filter((f) => f.name !== name);
    if (indexes.some((ix) => ix.fields.includes(name))) {
      return fail("validation_failed", `Field '${name}' is in an index; drop the index first.`);
    }
    // Its values stay in the record's history under every name it had: remember them as pii.
    if (dropped.pii) for (const alias of aliasesOf(def, name)) formerPii.add(alias);
  }
  // A name under which history holds pii may only be taken by a pii field: otherwise old values
  // would read (and filter, with as_of) as the new field's, in clear.
  const piiHistory = new Set([...piiNames(def), ...formerPii]);
  const takesPiiName = (f: FieldDef, name: string) =>
    !f.pii && piiHistory.has(name)
      ? fail("conflict", `History holds pii under '${name}': a field of that name must be pii too.`, {
          field: name,
        })
      : null;
  for (const [from, to] of Object.entries(change.rename ?? {})) {
    const field = fields.find((f) => f.name === from);
    if (!field) return fail("validation_failed", `Unknown field '${from}' in rename.`);
    if (fields.some((f) => f.name === to)) return fail("conflict", `Field '${to}' exists.`);
    const taken = takesPiiName(field, to);
    if (taken) return taken;
    fields = fields.map((f) => (f.name === from ? { ...f, name: to } : f));
    indexes = indexes.map((ix) => ({ ...ix, fields: ix.fields.map((n) => (n === from ? to : n)) }));
    renames[from] = to;
  }
  for (const f of change.add ?? []) {
    if (f.required && f.default === undefined) {
      return fail("validation_failed", `New required field '${f.name}' needs a default for existing records.`);
    }
    const problem = defaultProblem(f);
    if (problem) return fail("validation_failed", problem);
    const taken = takesPiiName(f, f.name);
    if (taken) return taken;
    fields.push(f);
  }
  for (const name of change.dropIndex ?? []) {
    if (!indexes.some((ix) => ix.name === name)) return fail("validation_failed", `Unknown index '${name}'.`);
    indexes = indexes.filter((ix) => ix.name !== name);
  }
  indexes.push(...(change.addIndex ?? []));
  const next: CollectionDef = { ...def, fields, renames, indexes };
  if (change.auditReads !== undefined) next.auditReads = change.auditReads;
  if (formerPii.size) next.formerPii = [...formerPii];
  const problem = definitionProblem(next);
  return problem ? fail("validation_failed", problem) : ok(next);
}

export function patchCollection(store: Store, p: Principal, name: string, body: unknown): Result<CollectionView> {
  const def = loadDefinition(store, name);
  if (!def) return fail("not_found", `Collection '${name}' not found.`);
  const parsed = PatchCollectionSchema.safeParse(body);
  if (!parsed.success) return failFromZod(parsed.error);
  const change = parsed.data;
  const held = change.drop?.length ? legalHoldFailure(store.config, "Dropping a field") : null;
  if (held) return held;
  const planned = plan(def, change);
  if (!planned.ok) return planned;
  const next = planned.value;
  const now = new Date().toISOString();
  const result = inTransaction(store, () => {
    for (const ixName of change.dropIndex ?? []) ids.exec(store.sql, ddl.dropIndex(name, `x_${ixName}`));
    for (const field of change.drop ?? []) {
      ids.exec(store.sql, ddl.dropIndex(name, `f_${field}`));
      for (const col of columnsOf(def.fields.find((f) => f.name === field) as FieldDef)) {
        ids.exec(store.sql, ddl.dropColumn(name, col.name));
      }
    }
    for (const [from, to] of Object.entries(change.rename ?? {})) {
      // Field indexes are named after the field: rebuild under the new name.
      ids.exec(store.sql, ddl.dropIndex(name, `f_${from}`));
      ids.exec(store.sql, ddl.renameColumn(name, from, to));
      if (def.fields.find((f) => f.name === from)?.encrypted) {
        ids.exec(store.sql, ddl.renameColumn(name, blindColumn(from), blindColumn(to)));
      }
    }
    for (const f of change.add ?? []) {
      for (const col of columnsOf(f)) ids.exec(store.sql, ddl.addColumn(name, col));
      if (f.default !== undefined && f.default !== null) {
        // Every existing record gets the default (encrypted fields: one ciphertext for all is
        // fine, the value is the same; each later write draws a fresh IV).
        for (const [column, value] of Object.entries(encodeFields(store, next, { [f.name]: f.default }))) {
          ids.exec(store.sql, sel.updateAll(name, column, value));
        }
      }
    }
    try {
      applyIndexes(store, next);
    } catch (err) {
      if (String(err).includes("UNIQUE"))
        throw new Abort(fail("conflict", "Existing records break a new unique index."));
      throw err;
    }
    store.db
      .update(collections)
      .set({ definition: next as never, updatedAt: now })
      .where(eq(collections.name, name))
      .run();
    appendAudit(store.db, {
      actor: actor(p),
      action: "collection.update",
      resource: `collection:${name}`,
      success: true,
      details: change as Record<string, unknown>,
    });
    appendChange(store.db, { type: "collection.changed", actor: actor(p), collection: name });
    const created = store.db
      .select({ c: collections.createdAt })
      .from(collections)
      .where(eq(collections.name, name))
      .get();
    return { ...next, createdAt: created?.c ?? now, updatedAt: now };
  });
  store.defs.delete(name);
  return isFailure(result) ? result : ok(result);
}

export function dropCollection(store: Store, p: Principal, name: string): Result<{ deleted: true }> {
  const def = loadDefinition(store, name);
  if (!def) return fail("not_found", `Collection '${name}' not found.`);
  const held = legalHoldFailure(store.config, "Dropping a collection");
  if (held) return held;
  const result = inTransaction(store, () => {
    const records = ids.exec<{ n: number }>(store.sql, ddl.countRows(name)).one().n;
    ids.exec(store.sql, ddl.dropTable(name));
    store.db.delete(collections).where(eq(collections.name, name)).run();
    store.db.delete(recordVersions).where(eq(recordVersions.collection, name)).run();
    store.db.delete(shares).where(eq(shares.collection, name)).run();
    forgetRecordEvents(store, name);
    removeCollectionFromIndex(store, name);
    bumpRecords(store, -records);
    appendAudit(store.db, {
      actor: actor(p),
      action: "collection.delete",
      resource: `collection:${name}`,
      success: true,
      details: { records },
    });
    appendChange(store.db, { type: "collection.changed", actor: actor(p), collection: name });
    return { deleted: true as const };
  });
  store.defs.delete(name);
  return isFailure(result) ? result : ok(result);
}
