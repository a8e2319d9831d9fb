// The portal's organisation page: a tenant's children and grandchildren with status and usage,
// and the aggregate query over them only (never over the tenant itself or unrelated tenants).
import { describe, expect, it } from "vitest";
import { create, NOTES } from "./data-helpers";
import { adminToken, call, createTenant, uniqueId } from "./helpers";
import { BASE, browse as browsePortal } from "./portal-helpers";

/** The portal with this site's Origin, as its own forms send it. */
const browse = (path: string, init: Parameters<typeof browsePortal>[1] = {}) =>
  browsePortal(path, { origin: BASE, ...init });

async function signIn() {
  const res = await browse("/admin/sign-in", { method: "POST", form: { token: await adminToken("org-admin") } });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const page = await (await browse("/admin/tenants", { cookie })).text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] as string };
}

describe("portal: organisation page", () => {
  it("lists children and grandchildren with status and usage, and aggregates over them only", async () => {
    const root = await createTenant(uniqueId("proot"));
    const child = await createTenant(uniqueId("pchild"), "carol", { parent: root.id });
    const grand = await createTenant(uniqueId("pgrand"), "gina", { parent: child.id });
    const other = await createTenant(uniqueId("pother"));
    for (const [t, n] of [
      [root, 4],
      [child, 2],
      [grand, 1],
      [other, 3],
    ] as const) {
      await call("/v1/collections", { method: "POST", token: t.ownerToken, body: NOTES });
      for (let i = 0; i < n; i++) await create(t.ownerToken, { title: `n${i}` });
    }
    await call(`/v1/tenants/${grand.id}/suspend`, { method: "POST", token: await adminToken() });
    const { cookie, csrf } = await signIn();
    const tenantPage = await (await browse(`/admin/tenants/${root.id}`, { cookie })).text();
    expect(tenantPage).toContain(`href="/admin/tenants/${root.id}/org"`);
    const res = await browse(`/admin/tenants/${root.id}/org`, { cookie });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(child.id);
    expect(html).toContain(grand.id);
    expect(html).not.toContain(other.id);
    expect(html).toMatch(new RegExp(`${grand.id}\\)</span></td><td>grandchild</td><td>suspended</td>`));
    expect(html).toContain("Requests this month");

    const answer = await browse(`/admin/tenants/${root.id}/org/query`, {
      method: "POST",
      cookie,
      form: { _csrf: csrf, collection: "notes", aggregate: "count", field: "", groupBy: "" },
    });
    expect(answer.status).toBe(200);
    const rows = [
      ...(await answer.text()).matchAll(
        /<tr><td>([a-z0-9-]+)<\/td><td>([^<]*|<span class="error">[a-z_]+<\/span>)<\/td><\/tr>/g,
      ),
    ].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual({
      [child.id]: "2",
      [grand.id]: '<span class="error">tenant_suspended</span>',
    });
  });
});
