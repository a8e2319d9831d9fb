// An export or backup is consistent as of one instant: when it starts, every section's rows are
// read in the same transaction that records the job (so no write lands in between) and kept in
// the object's own storage, a chunk per key, until the bundle is written; the job's later alarms
// write those chunks, whatever the tenant changes meanwhile. The manifest's `asOf` is that instant
// and `changeSeq` the last change-log event it covers. File bytes are copied later from R2: a file
// replaced or deleted after the instant is left out of the bundle's blobs (listed as changed).
import { latestSeq } from "../changes/change-log";
import type { Store } from "../db/store";

const PIECE = 512 * 1024;
const key = (jobId: string, name: string, piece: number) => `export/${jobId}/${name}/${piece}`;

function put(store: Store, jobId: string, name: string, value: unknown) {
  const text = JSON.stringify(value);
  for (let piece = 0, at = 0; at < text.length || piece === 0; piece++, at += PIECE) {
    store.storage.kv.put(key(jobId, name, piece), text.slice(at, at + PIECE));
  }
}

function get<T>(store: Store, jobId: string, name: string): T | null {
  let text = "";
  for (let piece = 0; ; piece++) {
    const value = store.storage.kv.get<string>(key(jobId, name, piece));
    if (value === undefined) return piece === 0 ? null : (JSON.parse(text) as T);
    text += value;
  }
}

export interface SnapshotChunk {
  rows: Record<string, unknown>[];
  next: number | null;
}

/**
 * Reads every section to its end through `read` (one chunk of rows and where the next starts)
 * and keeps the chunks; synchronous, so it runs inside the job's own transaction.
 */
export function takeSnapshot(
  store: Store,
  jobId: string,
  sections: string[],
  meta: unknown,
  read: (
    index: number,
    after: string | number | null,
  ) => { rows: Record<string, unknown>[]; next: string | number | null },
): { asOf: string; changeSeq: number } {
  put(store, jobId, "meta", meta);
  sections.forEach((section, index) => {
    if (section === "meta" || section === "manifest") return;
    let after: string | number | null = null;
    for (let n = 0; ; n++) {
      const chunk = read(index, after);
      const next = chunk.next === null ? null : n + 1;
      put(store, jobId, `${section}/${n}`, { rows: chunk.rows, next } satisfies SnapshotChunk);
      if (chunk.next === null) return;
      after = chunk.next;
    }
  });
  return { asOf: new Date().toISOString(), changeSeq: latestSeq(store) };
}

export const snapshotMeta = <T>(store: Store, jobId: string) => get<T>(store, jobId, "meta");

export const snapshotChunk = (store: Store, jobId: string, section: string, n: number) =>
  get<SnapshotChunk>(store, jobId, `${section}/${n}`) ?? { rows: [], next: null };

/** Drops a job's snapshot (written, failed or expired). */
export function discardSnapshot(store: Store, jobId: string): void {
  for (const [k] of [...store.storage.kv.list({ prefix: `export/${jobId}/` })]) store.storage.kv.delete(k);
}
