// Every list takes cursor + limit with limit up to 1000 (DESIGN §5); members and sweep runs page
// with opaque cursors like the others.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRun } from "../src/sweeps/sweep-runs";
import { create, type Page, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json } from "./helpers";

describe("list limits", () => {
  it("accepts limit=1000 on every list and refuses 1001 where a list takes a limit", async () => {
    const t = await tenantWithNotes();
    const r = await create(t.ownerToken, { title: "a" });
    const admin = await adminToken();
    const lists: [string, string][] = [
      ["/v1/tenants", admin],
      ["/v1/sweeps", admin],
      [`/v1/tenants/${t.id}/audit-logs`, admin],
      ["/v1/members", t.ownerToken],
      ["/v1/collections/notes/records", t.ownerToken],
      [`/v1/collections/notes/records/${r.id}/history`, t.ownerToken],
      ["/v1/audit", t.ownerToken],
      ["/v1/files", t.ownerToken],
      ["/v1/search?q=a&", t.ownerToken],
    ];
    for (const [path, token] of lists) {
      const sep = path.endsWith("&") ? "" : "?";
      const ok = await call(`${path}${sep}limit=1000`, { token });
      expect(ok.status, `${path} 1000`).toBe(200);
      const over = await call(`${path}${sep}limit=1001`, { token });
      expect(over.status, `${path} 1001`).toBe(400);
    }
    // Lists bounded by the tenant's own limits answer whole, and take limit=1000 all the same.
    for (const path of ["/v1/collections", "/v1/roles", "/v1/api-keys"]) {
      const res = await call(`${path}?limit=1000`, { token: t.ownerToken });
      expect(res.status, path).toBe(200);
      expect((await json<Page<unknown>>(res)).nextCursor).toBeNull();
    }
  });

  it("pages members with cursor and limit, each member once", async () => {
    const t = await tenantWithNotes();
    const subs = ["bob", "carol", "dave", "ève", "frank"];
    for (const sub of subs) {
      const res = await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles: ["viewer"] } });
      expect(res.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page: Page<{ sub: string }> = await json(
        await call(`/v1/members?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: t.ownerToken }),
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((m) => m.sub));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(["alice", ...subs].sort());
    expect((await call("/v1/members?cursor=%25%25", { token: t.ownerToken })).status).toBe(400);
  });

  it("pages sweep runs newest first with cursor and limit", async () => {
    for (let i = 0; i < 3; i++) await createRun(env, "billing", "manual");
    const token = await adminToken();
    const all = await json<Page<{ id: string }>>(await call("/v1/sweeps?limit=1000", { token }));
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 1000; i++) {
      const page: Page<{ id: string }> = await json(
        await call(`/v1/sweeps?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token }),
      );
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen.slice(0, all.items.length)).toEqual(all.items.map((r) => r.id));
    expect(new Set(seen).size).toBe(seen.length);
  });
});
