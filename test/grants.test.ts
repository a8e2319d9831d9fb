// No one grants what they do not hold: an escalation matrix of every built-in role and a custom
// members:manage-only role against owners and admins (give, define, add, remove, demote), then
// the same rule's other doors (its own role, clearance, API keys) and its audit trail.
import { describe, expect, it } from "vitest";
import { BUILTIN_ROLES } from "../durable-objects/access/permissions";
import { PERMISSIONS } from "../durable-objects/contract/access";
import { call, createTenant, json, userToken } from "./helpers";

type Actor = "owner" | "admin" | "editor" | "viewer" | "manager";
type Target = "owner" | "admin";
type Action = "give" | "define" | "add" | "remove" | "demote";

const ACTORS: Actor[] = ["owner", "admin", "editor", "viewer", "manager"];
const ACTIONS: Action[] = ["give", "define", "add", "remove", "demote"];
const TARGETS: Target[] = ["owner", "admin"];

/** Who may do what to whom: owners everything; admins all but touch owners; nobody else anything. */
function expected(actor: Actor, action: Action, target: Target): number {
  // "owner" is a built-in name: redefining it is a conflict for anyone who manages members at all.
  if (action === "define" && target === "owner") return ["owner", "admin", "manager"].includes(actor) ? 409 : 403;
  if (actor === "owner") return action === "add" ? 201 : 200;
  if (actor === "admin" && target === "admin") return action === "add" ? 201 : 200;
  return 403;
}

async function member(token: string, sub: string, roles: string[]) {
  const res = await call("/v1/members", { method: "POST", token, body: { sub, roles } });
  expect(res.status, await res.clone().text()).toBe(201);
}

/** A tenant whose member `actor` holds the actor's role ("manager": a custom members:manage-only role). */
async function tenantFor(actor: Actor) {
  const t = await createTenant();
  await call("/v1/roles/manager", {
    method: "PUT",
    token: t.ownerToken,
    body: { permissions: ["members:manage"], clearance: "internal" },
  });
  if (actor !== "owner") await member(t.ownerToken, "actor", [actor]);
  return { ...t, actor: actor === "owner" ? t.ownerToken : await userToken(t.id, "actor") };
}

async function attempt(t: Awaited<ReturnType<typeof tenantFor>>, action: Action, target: Target, n: number) {
  const victim = `${target}-${action}-${n}`;
  switch (action) {
    case "give":
      await member(t.ownerToken, victim, ["viewer"]);
      return call(`/v1/members/${victim}`, { method: "PATCH", token: t.actor, body: { roles: [target] } });
    case "define":
      // A custom role as strong as the target; "owner" itself is a built-in name (409 to anyone allowed).
      return call(`/v1/roles/${target === "owner" ? "owner" : `strong-${n}`}`, {
        method: "PUT",
        token: t.actor,
        body: { permissions: [...PERMISSIONS], clearance: "restricted" },
      });
    case "add":
      return call("/v1/members", { method: "POST", token: t.actor, body: { sub: victim, roles: [target] } });
    case "remove":
      await member(t.ownerToken, victim, [target]);
      return call(`/v1/members/${victim}`, { method: "DELETE", token: t.actor });
    case "demote":
      await member(t.ownerToken, victim, [target]);
      return call(`/v1/members/${victim}`, { method: "PATCH", token: t.actor, body: { roles: ["viewer"] } });
  }
}

describe("escalation matrix", () => {
  for (const actor of ACTORS) {
    it(`the ${actor} role gives, defines, adds, removes and demotes owners and admins only within its holdings`, async () => {
      const t = await tenantFor(actor);
      let n = 0;
      const seen: string[] = [];
      const want: string[] = [];
      for (const action of ACTIONS) {
        for (const target of TARGETS) {
          const res = await attempt(t, action, target, n++);
          seen.push(`${action} ${target}: ${res.status}`);
          want.push(`${action} ${target}: ${expected(actor, action, target)}`);
          if (res.status === 403) expect((await json(res)).code).toBe("forbidden");
        }
      }
      expect(seen).toEqual(want);
      // Nothing it was refused left a trace: its own permissions are what its role gives.
      const me = await json<{ principal: { permissions: string[]; roles: string[] } }>(
        await call("/v1/me", { token: t.actor }),
      );
      expect(me.principal.roles).toEqual([actor]);
      const held = actor === "manager" ? ["members:manage"] : [...(BUILTIN_ROLES[actor] ?? [])];
      expect(me.principal.permissions).toEqual(held.sort());
    });
  }
});

describe("no one grants what they do not hold", () => {
  it("a members:manage-only member cannot make itself admin, nor widen its own role", async () => {
    const t = await tenantFor("manager");
    const self = await call("/v1/members/actor", { method: "PATCH", token: t.actor, body: { roles: ["admin"] } });
    expect(self.status).toBe(403);
    const widen = await call("/v1/roles/manager", {
      method: "PUT",
      token: t.actor,
      body: { permissions: ["members:manage", "pii:read"] },
    });
    expect(widen.status).toBe(403);
    const me = await json<{ principal: { roles: string[] } }>(await call("/v1/me", { token: t.actor }));
    expect(me.principal.roles).toEqual(["manager"]);
    const roles = await json<{ items: { name: string; permissions: string[] }[] }>(
      await call("/v1/roles", { token: t.ownerToken }),
    );
    expect(roles.items.find((r) => r.name === "manager")?.permissions).toEqual(["members:manage"]);
    // Within its holdings it still works: a member with its own role, then removed again.
    expect(
      (await call("/v1/members", { method: "POST", token: t.actor, body: { sub: "peer", roles: ["manager"] } })).status,
    ).toBe(201);
    expect((await call("/v1/members/peer", { method: "DELETE", token: t.actor })).status).toBe(200);
    // Refusals are on the tenant's audit trail.
    const audit = await json<{ items: { resource: string; success: boolean }[] }>(
      await call("/v1/audit?action=access.denied", { token: t.ownerToken }),
    );
    expect(audit.items.map((e) => e.resource)).toEqual(expect.arrayContaining(["member:actor", "role:manager"]));
  });

  it("a token narrowed by its roles gives no role above the clearance it narrows to", async () => {
    const t = await tenantFor("admin");
    await call("/v1/roles/secret", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: [], clearance: "restricted" },
    });
    // An admin (restricted clearance) signed in as a manager (internal) acts with internal.
    const asManager = await userToken(t.id, "actor", { roles: ["manager"] });
    const give = await call("/v1/members", { method: "POST", token: asManager, body: { sub: "x", roles: ["secret"] } });
    expect(give.status).toBe(403);
    expect((await json<{ detail: string }>(give)).detail).toMatch(/clearance 'restricted'/);
    const full = await call("/v1/members", { method: "POST", token: t.actor, body: { sub: "x", roles: ["secret"] } });
    expect(full.status).toBe(201);
  });

  it("clearance counts as holdings: no role above one's own clearance is given or defined", async () => {
    const t = await tenantFor("manager");
    await call("/v1/roles/secret", {
      method: "PUT",
      token: t.ownerToken,
      body: { permissions: [], clearance: "restricted" },
    });
    expect(
      (await call("/v1/members", { method: "POST", token: t.actor, body: { sub: "x", roles: ["secret"] } })).status,
    ).toBe(403);
    expect(
      (
        await call("/v1/roles/spy", {
          method: "PUT",
          token: t.actor,
          body: { permissions: [], clearance: "confidential" },
        })
      ).status,
    ).toBe(403);
    // Deleting (or narrowing) a role one could not give is refused too.
    expect((await call("/v1/roles/secret", { method: "DELETE", token: t.actor })).status).toBe(403);
    expect(
      (
        await call("/v1/roles/plain", {
          method: "PUT",
          token: t.actor,
          body: { permissions: ["members:manage"], clearance: "internal" },
        })
      ).status,
    ).toBe(200);
  });

  it("only owners touch owners; a token without the owner role acts without owner rights", async () => {
    const t = await createTenant();
    await member(t.ownerToken, "olga", ["owner"]);
    await member(t.ownerToken, "adam", ["admin"]);
    const adam = await userToken(t.id, "adam");
    expect((await call("/v1/members/olga", { method: "DELETE", token: adam })).status).toBe(403);
    expect((await call("/v1/members/olga", { method: "PATCH", token: adam, body: { displayName: "O" } })).status).toBe(
      403,
    );
    const narrowed = await userToken(t.id, t.owner, { roles: ["admin"] });
    expect((await call("/v1/members/olga", { method: "DELETE", token: narrowed })).status).toBe(403);
    expect((await call("/v1/members/olga", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    // The last owner stays, whoever asks.
    expect((await call(`/v1/members/${t.owner}`, { method: "DELETE", token: t.ownerToken })).status).toBe(409);
  });

  it("an API key gives no more than its scopes", async () => {
    const t = await createTenant();
    const { key } = await json<{ key: string }>(
      await call("/v1/api-keys", {
        method: "POST",
        token: t.ownerToken,
        body: { name: "hr", scopes: ["members:manage", "records:read", "files:read"] },
      }),
    );
    expect(
      (await call("/v1/members", { method: "POST", token: key, body: { sub: "x", roles: ["admin"] } })).status,
    ).toBe(403);
    expect(
      (
        await call("/v1/roles/wide", {
          method: "PUT",
          token: key,
          body: { permissions: ["records:write"], clearance: "public" },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call("/v1/roles/reader", {
          method: "PUT",
          token: key,
          body: { permissions: ["records:read"], clearance: "public" },
        })
      ).status,
    ).toBe(200);
  });
});
