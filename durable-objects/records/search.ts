// Full-text search (FTS5) over each collection's searchable fields. Index rows are written in the
// same transaction as the record. User text is never FTS5 syntax: every word becomes a quoted
// phrase, so `"`, NEAR(, col:term, * and NUL are just text.

import type { CollectionDef } from "../collections/collection-schema";
import type { ApiRecord, SearchHit } from "../contract/records";
import type { Store } from "../db/store";

export function searchableText(def: CollectionDef, rec: ApiRecord): string {
  return def.fields
    .filter((f) => f.searchable && typeof rec[f.name] === "string")
    .map((f) => rec[f.name] as string)
    .join("\n");
}

/** Indexes a record's text; `fresh`: a record just created, which has no index row to replace. */
export function indexRecord(store: Store, def: CollectionDef, rec: ApiRecord, fresh = false): void {
  if (!fresh) unindexRecord(store, def.name, rec.id as string);
  const text = searchableText(def, rec);
  if (text) {
    store.sql.exec(
      "INSERT INTO search_index (collection, record_id, content) VALUES (?, ?, ?)",
      def.name,
      rec.id as string,
      text,
    );
  }
}

export function unindexRecord(store: Store, collection: string, id: string): void {
  store.sql.exec("DELETE FROM search_index WHERE collection = ? AND record_id = ?", collection, id);
}

export function removeCollectionFromIndex(store: Store, collection: string): void {
  store.sql.exec("DELETE FROM search_index WHERE collection = ?", collection);
}

/** Turns any text into a safe FTS5 query: each word a quoted phrase, all of them required. */
export function ftsQuery(text: string): string | null {
  const words = text
    .replace(/[\p{Cc}\p{Cs}]/gu, " ")
    .split(/\s+/)
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 32);
  if (words.length === 0) return null;
  return words.map((w) => `"${w.replace(/"/g, '""')}"`).join(" ");
}

export function searchIndex(store: Store, text: string, collection: string | null, limit: number): SearchHit[] {
  const match = ftsQuery(text);
  if (!match) return [];
  const rows = store.sql
    .exec<{ collection: string; record_id: string; score: number; snippet: string }>(
      `SELECT collection, record_id, bm25(search_index) AS score,
              snippet(search_index, 2, '**', '**', '…', 12) AS snippet
         FROM search_index
        WHERE search_index MATCH ? AND (? IS NULL OR collection = ?)
        ORDER BY score LIMIT ?`,
      match,
      collection,
      collection,
      limit,
    )
    .toArray();
  return rows.map((r) => ({
    collection: r.collection,
    id: r.record_id,
    score: Math.round(-r.score * 1e6) / 1e6,
    snippet: r.snippet,
  }));
}
