// Intents of file writes. R2 and the catalogue cannot share a transaction, so every upload and
// delete leaves an intent (a meta row "file-op:<token>") from before R2 is touched until the
// catalogue says what R2 holds; file-recovery.ts settles the ones a crash left behind.
import type { Store } from "../db/store";

const PREFIX = "file-op:";

export interface Intent {
  path: string;
  op: "put" | "delete";
  /** Who asked: the uploader of an object that is recorded on recovery. */
  sub: string;
}

/**
 * Whether any intent is open, as an SQL expression (the object's start query asks it): keys after
 * "file-op:" and before "file-op;" (';' follows ':') are exactly the intents.
 */
export const INTENTS_OPEN_SQL = `EXISTS (SELECT 1 FROM meta WHERE key > '${PREFIX}' AND key < '${PREFIX.slice(0, -1)};')`;

/** The token of a path's delete: one at a time per path is enough (deletes of a path are alike). */
export const deleteToken = (path: string) => `delete:${path}`;

/** Call in the transaction that admits the write, before the Worker touches R2. */
export function noteIntent(store: Store, token: string, intent: Intent): void {
  store.sql.exec(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    `${PREFIX}${token}`,
    JSON.stringify(intent),
  );
}

/** Call in the transaction that makes the catalogue agree with R2 (or once R2 is left unchanged). */
export function clearIntent(store: Store, token: string): void {
  store.sql.exec("DELETE FROM meta WHERE key = ?", `${PREFIX}${token}`);
}

/** Open intents by path: their tokens, and the upload among them if any. */
export function openIntents(store: Store): Map<string, { tokens: string[]; put: Intent | null }> {
  const byPath = new Map<string, { tokens: string[]; put: Intent | null }>();
  for (const row of store.sql.exec<{ key: string; value: string }>(
    "SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key",
    PREFIX,
    `${PREFIX}\u{10FFFF}`,
  )) {
    const intent = JSON.parse(row.value) as Intent;
    const entry = byPath.get(intent.path) ?? { tokens: [], put: null };
    entry.tokens.push(row.key.slice(PREFIX.length));
    if (intent.op === "put") entry.put = intent;
    byPath.set(intent.path, entry);
  }
  return byPath;
}
