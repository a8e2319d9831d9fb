// Writing a tenant's export (or backup) bundle to R2, a chunk at a time: each alarm reads up to
// CHUNK_ROWS rows of the current section synchronously, then writes them as one NDJSON part.
// A large tenant is exported across many alarms, never in one request.

import type { JobView, PartInfo } from "../contract/jobs";
import type { Store } from "../db/store";
import migrations from "../drizzle/migrations.js";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";
import { tenantStorage } from "../storage/tenant-storage";
import { BUNDLE_FORMAT, type Manifest, ndjson, partInfo } from "./bundle";
import { discardSnapshot, snapshotChunk, snapshotMeta, takeSnapshot } from "./export-snapshot";
import type { JobState } from "./job-state";

export interface ExportState {
  sections: string[];
  index: number;
  /** Keyset position inside the current section. */
  after: string | number | null;
  part: number;
  parts: PartInfo[];
  counts: Record<string, number>;
  copyFiles: boolean;
  createdAt: string;
  auditHead: { seq: number; hash: string } | null;
  /** The instant the bundle is consistent as of (export-snapshot.ts); absent in older jobs. */
  asOf?: string;
  changeSeq?: number;
}

export const DEFAULT_CHUNK_ROWS = 1000;

/**
 * A new export's state. With `snapshot` (the job's id and chunk size) every section is read now,
 * as one instant: call it inside a transaction, with no await before the job is recorded.
 */
export function newExportState(
  store: Store,
  copyFiles: boolean,
  snapshot?: { jobId: string; chunkRows: number },
): ExportState {
  const collections = store.sql
    .exec<{ name: string }>("SELECT name FROM collections ORDER BY name")
    .toArray()
    .map((r) => r.name);
  const state: ExportState = {
    sections: [
      "meta",
      ...collections.map((c) => `records:${c}`),
      ...collections.map((c) => `history:${c}`),
      "members",
      "roles",
      "shares",
      "audit",
      "files",
      ...(copyFiles ? ["blobs"] : []),
      "manifest",
    ],
    index: 0,
    after: null,
    part: 0,
    parts: [],
    counts: {},
    copyFiles,
    createdAt: new Date().toISOString(),
    auditHead: null,
  };
  if (!snapshot) return state;
  const instant = takeSnapshot(store, snapshot.jobId, state.sections, metaOf(store), (index, after) =>
    readChunk(store, { ...state, index, after }, snapshot.chunkRows),
  );
  return { ...state, ...instant };
}

function metaOf(store: Store) {
  const { wrappedKey: _secret, ...config } = store.config;
  const defs = store.sql
    .exec<{ definition: string; created_at: string; updated_at: string }>(
      "SELECT definition, created_at, updated_at FROM collections ORDER BY name",
    )
    .toArray();
  return {
    "settings.json": config,
    "collections.json": defs.map((d) => ({
      ...JSON.parse(d.definition),
      createdAt: d.created_at,
      updatedAt: d.updated_at,
    })),
  };
}

/** The next chunk of the current section: from the snapshot, or (older jobs) the live tables. */
function nextChunk(store: Store, jobId: string, state: ExportState, limit: number): Chunk {
  if (!state.asOf) return readChunk(store, state, limit);
  const section = state.sections[state.index] as string;
  const [kind, collection] = section.split(":") as [string, string | undefined];
  const chunk = snapshotChunk(store, jobId, section, (state.after as number | null) ?? 0);
  return {
    name: `${kind}${collection ? `/${collection}` : ""}/${String(state.part).padStart(5, "0")}.ndjson`,
    rows: chunk.rows,
    next: chunk.next,
  };
}

interface Chunk {
  name: string;
  rows: Record<string, unknown>[];
  /** Where the next chunk of this section starts; null when the section is finished. */
  next: string | number | null;
}

/** Reads one chunk of the current section, synchronously, before anything is awaited. */
function readChunk(store: Store, state: ExportState, limit: number): Chunk {
  const section = state.sections[state.index] as string;
  const [kind, collection] = section.split(":") as [string, string | undefined];
  const after = state.after;
  const done = <T extends Record<string, unknown>>(rows: T[], key: (r: T) => string | number): Chunk => ({
    name: `${kind}${collection ? `/${collection}` : ""}/${String(state.part).padStart(5, "0")}.ndjson`,
    rows,
    next: rows.length === limit ? key(rows[rows.length - 1] as T) : null,
  });
  switch (kind) {
    case "records": {
      const rows = ids
        .exec<Record<string, SqlStorageValue>>(
          store.sql,
          sel.exportRows(collection as string, (after as string) ?? "", limit),
        )
        .toArray();
      return done(rows, (r) => r.id as string);
    }
    case "history": {
      const rows = store.sql
        .exec<Record<string, SqlStorageValue>>(
          "SELECT rowid AS _row, record_id, version, op, data, actor, at FROM record_versions WHERE collection = ? AND rowid > ? ORDER BY rowid LIMIT ?",
          collection as string,
          (after as number) ?? 0,
          limit,
        )
        .toArray();
      return done(rows, (r) => r._row as number);
    }
    case "members":
      return done(
        store.sql
          .exec("SELECT * FROM members WHERE sub > ? ORDER BY sub LIMIT ?", (after as string) ?? "", limit)
          .toArray(),
        (r) => r.sub as string,
      );
    case "roles":
      return done(
        store.sql
          .exec("SELECT * FROM roles WHERE name > ? ORDER BY name LIMIT ?", (after as string) ?? "", limit)
          .toArray(),
        (r) => r.name as string,
      );
    case "shares":
      return done(
        store.sql
          .exec("SELECT * FROM shares WHERE id > ? ORDER BY id LIMIT ?", (after as string) ?? "", limit)
          .toArray(),
        (r) => r.id as string,
      );
    case "audit":
      return done(
        store.sql
          .exec("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", (after as number) ?? 0, limit)
          .toArray(),
        (r) => r.seq as number,
      );
    case "files":
    case "blobs":
      return done(
        store.sql
          .exec("SELECT * FROM files WHERE path > ? ORDER BY path LIMIT ?", (after as string) ?? "", limit)
          .toArray(),
        (r) => r.path as string,
      );
    default:
      return { name: "", rows: [], next: null };
  }
}

/**
 * Advances an export by up to `budget` rows. Returns the new state and whether it is finished.
 * Only the R2 writes are awaited; every read happened before them.
 */
export async function exportStep(
  store: Store,
  bucket: R2Bucket,
  jobId: string,
  area: "exports" | "backups",
  state: ExportState,
  budget: number,
  chunkRows: number,
): Promise<{ state: ExportState; finished: boolean }> {
  const archive = tenantStorage(bucket, store.config.id, store.cipher());
  const bundle = { area, id: jobId };
  let rowsLeft = budget;
  const s = { ...state, parts: [...state.parts], counts: { ...state.counts } };
  while (s.index < s.sections.length && rowsLeft > 0) {
    const section = s.sections[s.index] as string;
    if (section === "meta") {
      const meta = (s.asOf ? snapshotMeta<ReturnType<typeof metaOf>>(store, jobId) : null) ?? metaOf(store);
      for (const [name, value] of Object.entries(meta)) {
        const body = JSON.stringify(value, null, 2);
        await archive.putPart(bundle, name, body, "application/json");
        s.parts.push(partInfo(name, body, 1));
      }
      s.index++;
      continue;
    }
    if (section === "manifest") {
      const manifest: Manifest = {
        format: BUNDLE_FORMAT,
        tenant: store.config.id,
        exportId: jobId,
        kind: area === "exports" ? "export" : "backup",
        schemaVersion: migrations.journal.entries.length,
        createdAt: s.createdAt,
        completedAt: new Date().toISOString(),
        collections: s.sections
          .filter((x) => x.startsWith("records:"))
          .map((x) => x.slice("records:".length))
          .map((name) => ({
            name,
            records: s.counts[`records:${name}`] ?? 0,
            versions: s.counts[`history:${name}`] ?? 0,
          })),
        counts: s.counts,
        auditHead: s.auditHead,
        ...(s.asOf ? { asOf: s.asOf, changeSeq: s.changeSeq ?? 0 } : {}),
        parts: s.parts,
      };
      await archive.putPart(bundle, "manifest.json", JSON.stringify(manifest, null, 2), "application/json");
      discardSnapshot(store, jobId);
      s.index++;
      break;
    }
    const chunk = nextChunk(store, jobId, s, Math.min(chunkRows, rowsLeft));
    if (section === "audit" && chunk.rows.length) {
      const last = chunk.rows[chunk.rows.length - 1] as { seq: number; hash: string };
      s.auditHead = { seq: last.seq, hash: last.hash };
    }
    if (chunk.rows.length) {
      if (section === "blobs") {
        for (const [i, row] of chunk.rows.entries()) {
          const object = await archive.getStoredFile(row.path as string, {
            sealing: (row.sealing as string | null) ?? null,
            etag: row.etag as string,
          });
          if (!object || object.stale) {
            // Replaced or deleted after the bundle's instant: its bytes then are gone from R2.
            await object?.body.cancel().catch(() => {});
            s.counts.filesChanged = (s.counts.filesChanged ?? 0) + 1;
            continue;
          }
          const name = `blobs/${String(s.part).padStart(5, "0")}-${String(i).padStart(4, "0")}`;
          // Streamed: opened from the file's sealing, sealed anew as the part's own object.
          const written = await archive.putPart(bundle, name, object.body, row.content_type as string, object.size);
          s.parts.push({ name, rows: 1, bytes: object.size, sha256: written.sha256, path: row.path as string });
        }
      } else {
        const body = ndjson(chunk.rows.map(stripInternal));
        await archive.putPart(bundle, chunk.name, body);
        s.parts.push(partInfo(chunk.name, body, chunk.rows.length));
      }
      s.counts[section] = (s.counts[section] ?? 0) + chunk.rows.length;
      s.part++;
    }
    rowsLeft -= Math.max(chunk.rows.length, 1);
    if (chunk.next === null) {
      s.index++;
      s.after = null;
    } else {
      s.after = chunk.next;
    }
  }
  return { state: s, finished: s.index >= s.sections.length };
}

function stripInternal(row: Record<string, unknown>): Record<string, unknown> {
  const { _row, ...rest } = row;
  return rest;
}

export function jobView(job: {
  id: string;
  kind: JobView["kind"];
  status: JobView["status"];
  state: JobState;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}): JobView {
  const state = job.state;
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    finishedAt: job.finishedAt,
    error: job.error,
    counts: state.counts,
    parts: "parts" in state ? state.parts : [],
    ...("backupId" in state ? { backupId: state.backupId } : {}),
  };
}
