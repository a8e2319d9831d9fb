// Idempotency-Key, the object's half: a POST retried with the same key (per caller) gets its
// first answer back for 24 hours, without the work being done again; the same key with another
// request is a conflict. The answer is kept in the same transaction as the write it answers for,
// sealed with the tenant's data key (an API key's secret is in its first answer).

import { createHash } from "node:crypto";
import type { IdempotencyInput } from "../contract/caller";
import { fail, type Result } from "../contract/result";
import { inTransaction, type Store } from "../db/store";

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

const fingerprintOf = (request: string) => createHash("sha256").update(request).digest("hex");

/** A replayed answer: the value of the first one, marked so the Worker can say so. */
export type Once<T> = Result<T> & { replayed?: true };

/** The first answer to this key, or null when the key is new (or its answer expired). */
export function replayed<T>(store: Store, scope: string, input: IdempotencyInput): Once<T> | null {
  const key = `${scope}:${input.key}`;
  const row = store.sql
    .exec<{ fingerprint: string; body: string; created_at: string }>(
      "SELECT fingerprint, body, created_at FROM idempotency_keys WHERE key = ?",
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
  // It was stored by the same request, so it is that request's T.
  return { ok: true, value: store.cipher().decrypt(row.body) as T, replayed: true };
}

export function remember(store: Store, scope: string, input: IdempotencyInput, value: unknown): void {
  store.sql.exec(
    "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
    `${scope}:${input.key}`,
    fingerprintOf(input.request),
    200,
    store.cipher().current.encrypt(value ?? null),
    new Date().toISOString(),
  );
}

/**
 * Runs a synchronous write once per key: the replay check, the work and its remembered answer
 * in one transaction (the work's own transaction nests inside it). Only a success is kept: a
 * refused request changed nothing, so its retry is simply decided again.
 */
export function once<T>(store: Store, scope: string, input: IdempotencyInput, work: () => Result<T>): Once<T> {
  const answer = inTransaction(store, () => {
    const previous = replayed<T>(store, scope, input);
    if (previous) return previous;
    const result = work();
    if (result.ok) remember(store, scope, input, result.value);
    return result;
  });
  return answer;
}

/**
 * The same for work that awaits (erasure reaches R2): the replay check before, the answer kept
 * after. Not one transaction, so such work must be safe to repeat should the object stop in
 * between; erasure is (erasing twice leaves the same state).
 */
export async function onceAsync<T>(
  store: Store,
  scope: string,
  input: IdempotencyInput,
  work: () => Promise<Result<T>>,
): Promise<Once<T>> {
  const previous = replayed<T>(store, scope, input);
  if (previous) return previous;
  const result = await work();
  if (result.ok) store.storage.transactionSync(() => remember(store, scope, input, result.value));
  return result;
}
