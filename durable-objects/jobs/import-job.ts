// Loading an export bundle into an empty tenant, a few parts per alarm: every part's checksum is
// verified against the manifest before it is applied; records keep their ids, versions and
// history; files are copied under the new tenant's prefix; the target's own audit chain records
// the import with the source chain's head.

import { appendAudit } from "../audit/audit-chain";
import { type CollectionDef, columnsOf } from "../collections/collection-schema";
import { applyIndexes } from "../collections/collections";
import type { Store } from "../db/store";
import { rowToRecord } from "../records/record-codec";
import { bumpRecords } from "../records/record-writes";
import { indexRecord } from "../records/search";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { tenantStorage } from "../storage/tenant-storage";
import { type Manifest, sha256 } from "./bundle";

export interface ImportState {
  source: string;
  exportId: string;
  manifest: Manifest | null;
  index: number;
  counts: Record<string, number>;
}

export const isEmptyTenant = (store: Store) =>
  store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM collections").one().n === 0 &&
  store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM files").one().n === 0 &&
  store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM members").one().n <= 1;

async function fetchPart(bucket: R2Bucket, state: ImportState, name: string): Promise<string> {
  const object = await tenantStorage(bucket, state.source).getPart({ area: "exports", id: state.exportId }, name);
  if (!object) throw new Error(`part ${name} is missing from the bundle`);
  return object.text();
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, SqlStorageValue>);

/** Applies up to `maxParts` parts; throws (failing the import) on a checksum mismatch. */
export async function importStep(
  store: Store,
  bucket: R2Bucket,
  state: ImportState,
  maxParts: number,
): Promise<{ state: ImportState; finished: boolean }> {
  const s: ImportState = { ...state, counts: { ...state.counts } };
  if (!s.manifest) {
    const text = await fetchPart(bucket, s, "manifest.json");
    s.manifest = JSON.parse(text) as Manifest;
    return { state: s, finished: false };
  }
  const manifest = s.manifest;
  const target = tenantStorage(bucket, store.config.id);
  const source = tenantStorage(bucket, s.source);
  for (let n = 0; n < maxParts && s.index < manifest.parts.length; n++, s.index++) {
    const part = manifest.parts[s.index] as Manifest["parts"][number];
    if (part.name.startsWith("blobs/")) continue; // files are copied from their source below
    const text = await fetchPart(bucket, s, part.name);
    if (sha256(text) !== part.sha256) throw new Error(`checksum mismatch in ${part.name}`);
    const [section, collection] = part.name.split("/") as [string, string | undefined];
    if (section === "files") {
      // Objects first, rows after: a row never points at a missing object.
      const rows = lines(text);
      for (const row of rows) {
        const object = await source.getStoredFile(row.path as string);
        if (!object) throw new Error(`file ${row.path} is missing in ${s.source}`);
        await target.putStoredFile(row.path as string, object.body, row.content_type as string);
      }
      store.storage.transactionSync(() => {
        for (const row of rows) ids.exec(store.sql, sel.insertInto("files", row));
      });
      s.counts.files = (s.counts.files ?? 0) + rows.length;
      continue;
    }
    store.storage.transactionSync(() => applyPart(store, section, collection, part.name, text, s.counts));
  }
  const finished = s.index >= manifest.parts.length;
  if (finished) {
    store.storage.transactionSync(() =>
      appendAudit(store.db, {
        actor: "system:import",
        action: "tenant.imported",
        resource: "tenant",
        success: true,
        details: {
          fromTenant: s.source,
          exportId: s.exportId,
          counts: s.counts,
          sourceAuditHead: manifest.auditHead,
          manifestParts: manifest.parts.length,
        },
      }),
    );
  }
  return { state: s, finished };
}

function applyPart(
  store: Store,
  section: string,
  collection: string | undefined,
  name: string,
  text: string,
  counts: Record<string, number>,
) {
  const now = new Date().toISOString();
  switch (section) {
    case "collections.json": {
      for (const def of JSON.parse(text) as CollectionDef[]) {
        if (def.fields.some((f) => f.encrypted)) {
          // Ciphertext is sealed with the source tenant's own data key, which never leaves it.
          throw new Error(`collection ${def.name} has encrypted fields, which cannot move to another tenant's key`);
        }
        ids.exec(store.sql, ddl.createTable(def.name, def.fields.flatMap(columnsOf)));
        applyIndexes(store, def);
        store.sql.exec(
          "INSERT INTO collections (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?)",
          def.name,
          JSON.stringify(def),
          now,
          now,
        );
        store.defs.delete(def.name);
      }
      return;
    }
    case "records": {
      const def = JSON.parse(
        store.sql
          .exec<{ definition: string }>("SELECT definition FROM collections WHERE name = ?", collection as string)
          .one().definition,
      ) as CollectionDef;
      const rows = lines(text);
      for (const row of rows) {
        ids.exec(store.sql, ddl.insertRow(def.name, row));
        if (row.deleted_at === null) indexRecord(store, def, rowToRecord(def, row));
      }
      bumpRecords(store, rows.length);
      counts[`records:${collection}`] = (counts[`records:${collection}`] ?? 0) + rows.length;
      return;
    }
    case "history": {
      const rows = lines(text);
      for (const r of rows) {
        store.sql.exec(
          "INSERT INTO record_versions (collection, record_id, version, op, data, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          collection as string,
          r.record_id,
          r.version,
          r.op,
          r.data,
          r.actor,
          r.at,
        );
      }
      counts[`history:${collection}`] = (counts[`history:${collection}`] ?? 0) + rows.length;
      return;
    }
    case "members": {
      const rows = lines(text);
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
      counts.members = (counts.members ?? 0) + rows.length;
      return;
    }
    case "audit":
      // The target keeps its own chain; the import event records the source chain's head.
      counts.auditEvents = (counts.auditEvents ?? 0) + lines(text).length;
      return;
    case "settings.json":
      // Settings, limits and status belong to the control plane, which configures the target.
      return;
    default:
      counts[`skipped:${name}`] = 1;
  }
}
