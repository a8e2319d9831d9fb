// Idempotency-Key: a retried POST with the same key (per caller) gets the first answer back for
// 24 hours; the same key with a different request is a conflict. Stored in the same transaction
// as the write it answers for.

import { createHash } from "node:crypto";
import type { IdempotencyInput, Replay } from "../contract/records";
import { type Failure, fail, type Json } from "../contract/result";
import type { Store } from "../db/store";

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

const fingerprintOf = (request: string) => createHash("sha256").update(request).digest("hex");

/** The first answer to this key, replayed (it was stored by the same kind of request, so it is a T). */
export function replay<T extends Json>(
  store: Store,
  scope: string,
  input: IdempotencyInput,
): Replay<T> | Failure | null {
  const key = `${scope}:${input.key}`;
  const row = store.sql
    .exec<{ fingerprint: string; status: number; body: string; created_at: string }>(
      "SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE key = ?",
      key,
    )
    .toArray()[0];
  if (!row) return null;
  if (Date.now() - Date.parse(row.created_at) > IDEMPOTENCY_TTL_MS) {
    store.sql.exec("DELETE FROM idempotency_keys WHERE key = ?", key);
    return null;
  }
  if (row.fingerprint !== fingerprintOf(input.request)) {
    return fail("conflict", "This Idempotency-Key was used for a different request.");
  }
  return { status: row.status, body: JSON.parse(row.body) as T };
}

export function remember<T extends Json>(
  store: Store,
  scope: string,
  input: IdempotencyInput,
  answer: Replay<T>,
): void {
  store.sql.exec(
    "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
    `${scope}:${input.key}`,
    fingerprintOf(input.request),
    answer.status,
    JSON.stringify(answer.body),
    new Date().toISOString(),
  );
}
