// Members of the tenant and their roles. Who may give, change or remove whom is grants.ts's rule;
// the last owner can be neither removed nor demoted; the plan's member quota is checked in the
// same transaction as the insert.

import type { z } from "zod";
import { appendAudit } from "../audit/audit-chain";
import { appendChange } from "../changes/change-log";
import type { MemberView } from "../contract/access";
import { AddMemberSchema, PatchMemberSchema } from "../contract/access";
import { fail, failFromZod, ok, type Result } from "../contract/result";
import { Abort, inTransaction, isFailure, type Store } from "../db/store";
import type { Principal } from "./authorize";
import { mayGiveRoles, mayTouchMember } from "./grants";
import { forgetPrincipals } from "./principal-cache";
import { roleExists } from "./role-definitions";

interface MemberRow extends Record<string, SqlStorageValue> {
  sub: string;
  roles: string;
  email: string | null;
  display_name: string | null;
  created_at: string;
  updated_at: string;
}

const view = (r: MemberRow): MemberView => ({
  sub: r.sub,
  roles: JSON.parse(r.roles),
  email: r.email,
  displayName: r.display_name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

function parse<T>(schema: z.ZodType<T>, body: unknown): Result<T> {
  const parsed = schema.safeParse(body);
  return parsed.success ? ok(parsed.data) : failFromZod(parsed.error);
}

function unknownRole(store: Store, roles: string[]): string | undefined {
  return roles.find((r) => !roleExists(store.sql, r));
}

const owners = (store: Store) =>
  store.sql
    .exec<{ sub: string }>(
      "SELECT sub FROM members WHERE EXISTS (SELECT 1 FROM json_each(members.roles) WHERE value = 'owner')",
    )
    .toArray()
    .map((r) => r.sub);

export function listMembers(store: Store): MemberView[] {
  return store.sql.exec<MemberRow>("SELECT * FROM members ORDER BY sub").toArray().map(view);
}

/** A page of members in `sub` order after `after`; `nextCursor` is the last sub when more follow. */
export function memberPage(store: Store, after: string | null, limit: number) {
  const rows = store.sql
    .exec<MemberRow>("SELECT * FROM members WHERE sub > ? ORDER BY sub LIMIT ?", after ?? "", limit + 1)
    .toArray();
  const items = rows.slice(0, limit).map(view);
  return { items, nextCursor: rows.length > limit ? (items.at(-1)?.sub ?? null) : null };
}

export function addMember(store: Store, p: Principal, body: unknown): Result<MemberView> {
  const input = parse(AddMemberSchema, body);
  if (!input.ok) return input;
  const { sub, roles, email, displayName } = input.value;
  const missing = unknownRole(store, roles);
  if (missing) return fail("validation_failed", `Unknown role '${missing}'.`, { field: "roles" });
  const refused = mayGiveRoles(store, p, sub, roles);
  if (refused) return refused;
  const now = new Date().toISOString();
  const result = inTransaction(store, () => {
    if (store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM members WHERE sub = ?", sub).one().n) {
      throw new Abort(fail("conflict", `'${sub}' is already a member.`));
    }
    const count = store.sql.exec<{ n: number }>("SELECT count(*) AS n FROM members").one().n;
    const max = store.config.limits.maxMembers;
    if (count >= max)
      throw new Abort(fail("quota_exceeded", `This tenant may have ${max} members.`, { limit: max, current: count }));
    store.sql.exec(
      "INSERT INTO members (sub, roles, email, display_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      sub,
      JSON.stringify(roles),
      email ?? null,
      displayName ?? null,
      now,
      now,
    );
    forgetPrincipals(store.storage);
    appendAudit(store.db, {
      actor: p.actor,
      action: "member.add",
      resource: `member:${sub}`,
      success: true,
      details: { roles },
    });
    appendChange(store.db, { type: "member.changed", actor: p.actor, id: sub });
    return view(store.sql.exec<MemberRow>("SELECT * FROM members WHERE sub = ?", sub).one());
  });
  return isFailure(result) ? result : ok(result);
}

export function updateMember(store: Store, p: Principal, sub: string, body: unknown): Result<MemberView> {
  const input = parse(PatchMemberSchema, body);
  if (!input.ok) return input;
  const patch = input.value;
  if (patch.roles) {
    const missing = unknownRole(store, patch.roles);
    if (missing) return fail("validation_failed", `Unknown role '${missing}'.`, { field: "roles" });
  }
  // Checked before the transaction so a refusal's audit event is not rolled back with it (the
  // object runs this synchronously: nothing can change the row in between).
  const row = store.sql.exec<MemberRow>("SELECT * FROM members WHERE sub = ?", sub).toArray()[0];
  if (!row) return fail("not_found", `No member '${sub}'.`);
  const current: string[] = JSON.parse(row.roles);
  const refused =
    mayTouchMember(store, p, sub, current, "change") ?? (patch.roles ? mayGiveRoles(store, p, sub, patch.roles) : null);
  if (refused) return refused;
  const result = inTransaction(store, () => {
    if (patch.roles && current.includes("owner") && !patch.roles.includes("owner") && owners(store).length === 1) {
      throw new Abort(fail("conflict", "The last owner cannot be demoted."));
    }
    store.sql.exec(
      "UPDATE members SET roles = ?, email = ?, display_name = ?, updated_at = ? WHERE sub = ?",
      JSON.stringify(patch.roles ?? current),
      patch.email === undefined ? row.email : patch.email,
      patch.displayName === undefined ? row.display_name : patch.displayName,
      new Date().toISOString(),
      sub,
    );
    forgetPrincipals(store.storage);
    appendAudit(store.db, {
      actor: p.actor,
      action: "member.update",
      resource: `member:${sub}`,
      success: true,
      details: { roles: patch.roles ?? current },
    });
    appendChange(store.db, { type: "member.changed", actor: p.actor, id: sub });
    return view(store.sql.exec<MemberRow>("SELECT * FROM members WHERE sub = ?", sub).one());
  });
  return isFailure(result) ? result : ok(result);
}

export function removeMember(store: Store, p: Principal, sub: string): Result<{ removed: true }> {
  const row = store.sql.exec<MemberRow>("SELECT * FROM members WHERE sub = ?", sub).toArray()[0];
  if (!row) return fail("not_found", `No member '${sub}'.`);
  const current: string[] = JSON.parse(row.roles);
  const refused = mayTouchMember(store, p, sub, current, "remove");
  if (refused) return refused;
  const result = inTransaction(store, () => {
    if (current.includes("owner") && owners(store).length === 1) {
      throw new Abort(fail("conflict", "The last owner cannot be removed."));
    }
    store.sql.exec("DELETE FROM members WHERE sub = ?", sub);
    forgetPrincipals(store.storage);
    appendAudit(store.db, { actor: p.actor, action: "member.remove", resource: `member:${sub}`, success: true });
    appendChange(store.db, { type: "member.changed", actor: p.actor, id: sub });
    return { removed: true as const };
  });
  return isFailure(result) ? result : ok(result);
}
