// API keys for machine clients. The secret is "silo_<tenant>_<id><secret>": the Worker routes it
// by the tenant in its prefix and sends only its SHA-256; this tenant looks the key up by id and
// compares hashes in constant time. Scopes are a subset of the creator's permissions (the rule of
// every grant, grants.ts), and stay bounded by them: a key never outlives or outranks its maker.

import { timingSafeEqual } from "node:crypto";
import { appendAudit } from "../audit/audit-chain";
import type { ApiKeyView } from "../contract/access";
import { CreateKeySchema, type Permission } from "../contract/access";
import { fail, failFromZod, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import type { Principal } from "./authorize";
import { mayIssueScopes } from "./grants";
import { permissionsOf } from "./permissions";
import { forgetPrincipals } from "./principal-cache";

export const KEY_ID_LENGTH = 12;

interface KeyRow extends Record<string, SqlStorageValue> {
  id: string;
  name: string;
  hash: string;
  scopes: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

const view = (r: KeyRow): ApiKeyView => ({
  id: r.id,
  name: r.name,
  scopes: JSON.parse(r.scopes),
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

/** Stores a new key's hash. The Worker made the secret and shows it once. */
/** A key the Worker minted: its id, the whole secret key and the hash the object keeps. */
export interface NewKey {
  id: string;
  key: string;
  hash: string;
  body: unknown;
}

export function createKey(store: Store, p: Principal, input: NewKey): Result<ApiKeyView & { key: string }> {
  const parsed = CreateKeySchema.safeParse(input.body);
  if (!parsed.success) return failFromZod(parsed.error);
  const { name, scopes, expiresAt } = parsed.data;
  const refused = mayIssueScopes(store, p, scopes);
  if (refused) return refused;
  if (expiresAt && Date.parse(expiresAt) <= Date.now())
    return fail("validation_failed", "expiresAt is in the past.", { field: "expiresAt" });
  const now = new Date().toISOString();
  store.storage.transactionSync(() => {
    store.sql.exec(
      "INSERT INTO api_keys (id, name, hash, scopes, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      input.id,
      name,
      input.hash,
      JSON.stringify(scopes),
      p.sub,
      now,
      expiresAt ? new Date(expiresAt).toISOString() : null,
    );
    forgetPrincipals(store.storage);
    appendAudit(store.db, {
      actor: p.actor,
      action: "apikey.create",
      resource: `apikey:${input.id}`,
      success: true,
      details: { name, scopes },
    });
  });
  // The secret is in this answer only (an Idempotency-Key replays it, sealed, for 24 h).
  return ok({ ...view(store.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", input.id).one()), key: input.key });
}

export function listKeys(store: Store): ApiKeyView[] {
  return store.sql.exec<KeyRow>("SELECT * FROM api_keys ORDER BY created_at, id").toArray().map(view);
}

export function revokeKey(store: Store, p: Principal, id: string): Result<ApiKeyView> {
  const row = store.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).toArray()[0];
  if (!row || row.revoked_at) return fail("not_found", `No active API key '${id}'.`);
  const now = new Date().toISOString();
  store.storage.transactionSync(() => {
    store.sql.exec("UPDATE api_keys SET revoked_at = ? WHERE id = ?", now, id);
    forgetPrincipals(store.storage);
    appendAudit(store.db, { actor: p.actor, action: "apikey.revoke", resource: `apikey:${id}`, success: true });
  });
  return ok({ ...view(row), revokedAt: now });
}

const LAST_USED_EVERY_MS = 60_000;

/**
 * The permissions of a presented key: its scopes, bounded by its creator's current permissions.
 * Null when the key is unknown, revoked, expired, or its creator is no longer a member.
 */
export function keyPermissions(
  store: Pick<Store, "sql" | "storage">,
  keyId: string,
  keyHash: string,
  roleLookup: (name: string) => readonly string[] | undefined,
  now = Date.now(),
): Set<Permission> | null {
  const row = store.sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", keyId).toArray()[0];
  const given = Buffer.from(keyHash, "hex");
  const stored = Buffer.from(row?.hash ?? "00".repeat(32), "hex");
  const matches = given.length === stored.length && timingSafeEqual(given, stored);
  if (!row || !matches || row.revoked_at) return null;
  if (row.expires_at && Date.parse(row.expires_at) <= now) return null;
  const creator = store.sql
    .exec<{ roles: string }>("SELECT roles FROM members WHERE sub = ?", row.created_by)
    .toArray()[0];
  if (!creator) return null;
  const creatorPermissions = permissionsOf(JSON.parse(creator.roles), roleLookup);
  const scopes = new Set((JSON.parse(row.scopes) as Permission[]).filter((s) => creatorPermissions.has(s)));
  if (!row.last_used_at || now - Date.parse(row.last_used_at) > LAST_USED_EVERY_MS) {
    store.sql.exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", new Date(now).toISOString(), keyId);
  }
  return scopes;
}
