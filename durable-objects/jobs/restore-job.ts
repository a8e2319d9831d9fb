// Restoring the tenant to one of its own backups, as a job a step per alarm (DESIGN §11). While it
// runs the gate answers 503. Its one commit point is the swap:
//   verify  every part of the bundle is read and checked against the manifest (copied files too);
//           record, history, member, role, share and file parts are staged in the object's
//           synchronous KV storage. Nothing of the tenant has changed yet.
//   swap    one transactionSync replaces collections (with their DDL), records, versions,
//           members, roles, shares, the file catalogue and settings with the staged ones, appends
//           `tenant.restored` to the audit chain (never rolled back) and moves the job on. A
//           failure before or inside it leaves the tenant exactly as it was.
//   files   after the swap, the backup's copy of every file is written back under its path, then
//           R2 objects the restored catalogue does not name are deleted. Old objects are kept
//           until the swap has committed; these steps only repeat safely, so a reset resumes them.
// A legal hold placed while it runs fails the job before the swap; placed after it, the sweep
// keeps the objects it would have deleted.

import { appendAudit } from "../audit/audit-chain";
import { expireAll } from "../changes/change-log";
import type { TenantConfig } from "../contract/config";
import { legalHoldFailure } from "../contract/legal-hold";
import type { Store } from "../db/store";
import { resealed } from "../files/file-catalog";
import * as ddl from "../sql/ddl";
import * as ids from "../sql/identifiers";
import { tenantStorage } from "../storage/tenant-storage";
import { type BundleSource, blobsByPath, type Manifest, readManifest, sha256, sha256Bytes } from "./bundle";
import { applyPart, Resealer } from "./bundle-apply";

export interface RestoreState {
  backupId: string;
  phase: "verify" | "swap" | "files" | "sweep";
  manifest: Manifest | null;
  /** Parts verified (verify), files written back (files). */
  index: number;
  /** R2 listing position while deleting objects the restored catalogue does not name. */
  cursor: string | null;
  counts: Record<string, number>;
}

/** Staged part texts, split so no KV value grows past the storage's value limit. */
const PIECE = 512 * 1024;
const stageKey = (jobId: string, index: number, piece: number) => `restore/${jobId}/${index}/${piece}`;

/** Whether a restore is pending or running, as an SQL expression (the object's start query asks it). */
export const RESTORE_OPEN_SQL =
  "EXISTS (SELECT 1 FROM export_jobs WHERE kind = 'restore' AND status IN ('pending', 'running'))";

/** Whether a restore is pending or running. */
export const restoreOpen = (sql: SqlStorage) =>
  sql.exec<{ open: number }>(`SELECT ${RESTORE_OPEN_SQL} AS open`).one().open === 1;

export const newRestoreState = (backupId: string): RestoreState => ({
  backupId,
  phase: "verify",
  manifest: null,
  index: 0,
  cursor: null,
  counts: {},
});

/** Parts carrying tenant data that the swap applies (audit parts stay out: the chain goes on). */
const applied = (name: string) =>
  name === "collections.json" || /^(records|history|members|roles|shares|files)\//.test(name);

function stage(store: Store, jobId: string, index: number, text: string) {
  for (let piece = 0, at = 0; at < text.length || piece === 0; piece++, at += PIECE) {
    store.storage.kv.put(stageKey(jobId, index, piece), text.slice(at, at + PIECE));
  }
}

function staged(store: Store, jobId: string, index: number): string {
  let text = "";
  for (let piece = 0; ; piece++) {
    const value = store.storage.kv.get<string>(stageKey(jobId, index, piece));
    if (value === undefined) return text;
    text += value;
  }
}

/** Drops what a restore staged (after it finished or failed). */
export function discardStaged(store: Store, jobId: string): void {
  for (const [key] of [...store.storage.kv.list({ prefix: `restore/${jobId}/` })]) store.storage.kv.delete(key);
}

/** Empties every table a backup restores (the audit chain, keys, jobs and usage stay). */
function clearTenantData(store: Store) {
  const names = store.sql.exec<{ name: string }>("SELECT name FROM collections").toArray();
  for (const { name } of names) ids.exec(store.sql, ddl.dropTable(name));
  store.sql.exec("DELETE FROM collections");
  store.sql.exec("DELETE FROM record_versions");
  store.sql.exec("DELETE FROM shares");
  store.sql.exec("DELETE FROM roles");
  store.sql.exec("DELETE FROM members");
  store.sql.exec("DELETE FROM files");
  store.sql.exec("DELETE FROM usage_counters WHERE period = 'all' AND metric = 'r2Bytes'"); // restarted from the files
  store.sql.exec("DELETE FROM search_index");
  store.sql.exec("DELETE FROM usage_counters WHERE period = 'all' AND metric = 'records'");
  store.defs.clear();
}

/** The swap: one transaction (the caller's), all or nothing. Returns the configuration it stored. */
function swap(store: Store, jobId: string, s: RestoreState, settings: TenantConfig["settings"]): TenantConfig {
  const manifest = s.manifest as Manifest;
  clearTenantData(store);
  const counts: Record<string, number> = {};
  const reseal = new Resealer(store.cipher(), store.cipher(), true);
  manifest.parts.forEach((part, index) => {
    if (applied(part.name)) applyPart(store, part.name, staged(store, jobId, index), counts, reseal);
  });
  expireAll(store);
  const config: TenantConfig = { ...store.config, settings };
  store.sql.exec("UPDATE meta SET value = ? WHERE key = 'config'", JSON.stringify(config));
  appendAudit(store.db, {
    actor: "system:restore",
    action: "tenant.restored",
    resource: "tenant",
    success: true,
    details: { backupId: s.backupId, backupAt: manifest.createdAt, counts, backupAuditHead: manifest.auditHead },
  });
  s.counts = counts;
  return config;
}

/**
 * A legal hold placed while the restore runs stops it before the swap, while nothing of the
 * tenant has changed: the job fails and the tenant stays as it was.
 */
function stopUnderHold(store: Store): void {
  const held = legalHoldFailure(store.config, "Restoring a backup");
  if (held) throw new Error(held.detail);
}

export interface RestoreStep {
  state: RestoreState;
  finished: boolean;
}

/**
 * Advances a restore by one step. `save` writes the job's state; the swap calls it inside its own
 * transaction, so a reset right after the swap never swaps twice.
 */
export async function restoreStep(
  store: Store,
  bucket: R2Bucket,
  jobId: string,
  state: RestoreState,
  maxParts: number,
  save: (s: RestoreState) => void,
): Promise<RestoreStep> {
  const s: RestoreState = { ...state, counts: { ...state.counts } };
  const bundle: BundleSource = { tenant: store.config.id, area: "backups", id: s.backupId };
  const archive = tenantStorage(bucket, store.config.id, store.cipher());
  const ref = { area: "backups" as const, id: s.backupId };
  if (s.phase === "verify" || s.phase === "swap") stopUnderHold(store);
  if (s.phase === "verify") {
    if (!s.manifest) {
      s.manifest = await readManifest(bucket, bundle, store.cipher());
      if (s.manifest.kind !== "backup") throw new Error(`${s.backupId} is not a backup`);
      if ((s.manifest.counts.files ?? 0) > 0 && blobsByPath(s.manifest).size === 0) {
        throw new Error(`backup ${s.backupId} holds no copies of its files and cannot restore them`);
      }
      return { state: s, finished: false };
    }
    const parts = s.manifest.parts;
    for (let n = 0; n < maxParts && s.index < parts.length; n++, s.index++) {
      const part = parts[s.index] as Manifest["parts"][number];
      const object = await archive.getPart(ref, part.name);
      if (!object) throw new Error(`part ${part.name} is missing from the backup`);
      if (part.name.startsWith("blobs/")) {
        if (sha256Bytes(await object.arrayBuffer()) !== part.sha256)
          throw new Error(`checksum mismatch in ${part.name}`);
        continue;
      }
      const text = await object.text();
      if (sha256(text) !== part.sha256) throw new Error(`checksum mismatch in ${part.name}`);
      if (applied(part.name)) stage(store, jobId, s.index, text);
    }
    if (s.index >= parts.length) Object.assign(s, { phase: "swap", index: 0 });
    return { state: s, finished: false };
  }
  if (s.phase === "swap") {
    const settingsPart = await archive.getPart(ref, "settings.json");
    if (!settingsPart) throw new Error("settings.json is missing from the backup");
    const settings = (JSON.parse(await settingsPart.text()) as TenantConfig).settings;
    const config = store.storage.transactionSync(() => {
      stopUnderHold(store); // the awaits above let a configuration push in
      const stored = swap(store, jobId, s, settings);
      Object.assign(s, { phase: "files", index: 0 });
      save(s);
      return stored;
    });
    store.adopt(config);
    return { state: s, finished: false };
  }
  const blobs = [...blobsByPath(s.manifest as Manifest).values()];
  if (s.phase === "files") {
    for (let n = 0; n < maxParts && s.index < blobs.length; n++, s.index++) {
      const blob = blobs[s.index] as Manifest["parts"][number];
      const object = await archive.getPart(ref, blob.name);
      if (!object) throw new Error(`part ${blob.name} is missing from the backup`);
      // Sealed anew at the file's own name; the restored row takes the new sealing.
      const written = await archive.putStoredFile(blob.path as string, object.body, object.contentType, object.size);
      resealed(store, blob.path as string, written.sealing);
    }
    if (s.index >= blobs.length) Object.assign(s, { phase: "sweep", cursor: null });
    return { state: s, finished: false };
  }
  // sweep: objects the restored catalogue does not name (files written after the backup). Under a
  // hold placed after the swap they are kept: their bytes are the only copy of those files.
  const page = await archive.listStoredFiles(s.cursor);
  const stale = page.paths.filter(
    (path) => store.sql.exec("SELECT 1 FROM files WHERE path = ?", path).toArray().length === 0,
  );
  for (const path of stale) {
    const held = store.config.legalHold;
    if (!held) await archive.deleteStoredFile(path);
    const count = held ? "filesKeptUnderHold" : "filesRemoved";
    s.counts[count] = (s.counts[count] ?? 0) + 1;
  }
  s.cursor = page.cursor;
  if (s.cursor) return { state: s, finished: false };
  discardStaged(store, jobId);
  return { state: s, finished: true };
}
