// Erasure that leaves no trace: after POST /v1/privacy/erasure no answer (records, history, as_of,
// search, members, shares, audit) and no later export holds the subject's id, email or pii
// values; their id reads as a stable pseudonym; the audit chain still verifies (and a rewrite not
// made by the erasure does not); exports written before the erasure are expired.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { create, type Page, tenantWithNotes } from "./data-helpers";
import { adminToken, call, json, userToken } from "./helpers";
import { plainText } from "./sealed-helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

const SUBJECT = "subj-q7x9";
const EMAIL = "quinn@subject.example";
/** Every trace of the subject a test may find: id, both emails, the encrypted value. */
const TRACES = [SUBJECT, "quinn", "123-45-6789"];

const PEOPLE = {
  name: "people",
  acl: true,
  fields: [
    { name: "title", type: "string", required: true, searchable: true },
    { name: "email", type: "string", pii: true },
    { name: "ssn", type: "string", pii: true, encrypted: true },
  ],
};

async function exportBundle(tenant: string, token: string): Promise<{ id: string; text: string }> {
  const started = await json<{ id: string }>(
    await call(`/v1/tenants/${tenant}/export`, { method: "POST", token, body: {} }),
  );
  for (let i = 0; i < 100; i++) {
    const job = await json<{ status: string }>(await call(`/v1/tenants/${tenant}/exports/${started.id}`, { token }));
    if (job.status === "completed") break;
    await runDurableObjectAlarm(stubOf(tenant));
  }
  const listed = await env.FILES.list({ prefix: `tenant-${tenant}/exports/${started.id}/` });
  let text = "";
  for (const o of listed.objects) text += await plainText(o.key);
  return { id: started.id, text };
}

const expectNoTrace = (label: string, value: unknown) => {
  const text = JSON.stringify(value);
  for (const trace of TRACES) expect(text, `${label} holds '${trace}'`).not.toContain(trace);
};

/** A tenant where the subject wrote, was written about, shared and was shared with. */
async function scene() {
  const t = await tenantWithNotes(PEOPLE);
  const owner = t.ownerToken;
  await call("/v1/members", { method: "POST", token: owner, body: { sub: SUBJECT, roles: ["editor"], email: EMAIL } });
  const subject = await userToken(t.id, SUBJECT);
  const theirs = await create(subject, { title: "plain one", email: EMAIL, ssn: "123-45-6789" }, "people");
  await call(`/v1/collections/people/records/${theirs.id}`, {
    method: "PATCH",
    token: subject,
    body: { email: "quinn2@subject.example", visibility: "shared" },
  });
  await call(`/v1/collections/people/records/${theirs.id}/shares`, {
    method: "POST",
    token: subject,
    body: { principal: "role:viewer", permission: "read" },
  });
  const retried = await call("/v1/collections/people/records", {
    method: "POST",
    token: subject,
    headers: { "idempotency-key": "k-1" },
    body: { title: "plain two", email: EMAIL },
  });
  expect(retried.status).toBe(201);
  // Records the subject never touched: one about them, one unrelated.
  const about = await create(owner, { title: "plain three", email: EMAIL, visibility: "shared" }, "people");
  const other = await create(owner, { title: "plain four", email: "other@keep.example" }, "people");
  await call(`/v1/collections/people/records/${other.id}/shares`, {
    method: "POST",
    token: owner,
    body: { principal: `user:${SUBJECT}`, permission: "read" },
  });
  return { ...t, subject, theirs, about, other };
}

describe("erasure that leaves no trace", () => {
  it("leaves no id, email or value of the subject in any answer, and their id reads as a pseudonym", async () => {
    const t = await scene();
    const asOfBefore = new Date().toISOString();
    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: SUBJECT } });
    expect(res.status).toBe(200);
    const result = await json<{ records: number; shares: number; pseudonym: string; auditRedacted: number }>(res);
    expect(result.pseudonym).toMatch(/^erased:[0-9a-f]{16}$/);
    expect(result).toMatchObject({ records: 3, shares: 1 });
    expect(result.auditRedacted).toBeGreaterThan(0);
    expectNoTrace("the erasure's answer", result);

    const admin = await adminToken();
    const get = async <T = Page<Record<string, unknown>>>(path: string, token = t.ownerToken) => {
      const r = await call(path, { token });
      expect(r.status, path).toBe(200);
      return json<T>(r);
    };
    const theirs = await get(`/v1/collections/people/records/${t.theirs.id}`);
    expect(theirs).toMatchObject({ title: "plain one", email: null, ssn: null, owner: result.pseudonym });
    expect(await get(`/v1/collections/people/records/${t.about.id}`)).toMatchObject({ email: null });
    expect(await get(`/v1/collections/people/records/${t.other.id}`)).toMatchObject({
      email: "other@keep.example",
      owner: t.owner,
    });
    const answers: [string, unknown][] = [
      ["record", theirs],
      ["history", await get(`/v1/collections/people/records/${t.theirs.id}/history`)],
      ["history of a record about them", await get(`/v1/collections/people/records/${t.about.id}/history`)],
      ["list", await get("/v1/collections/people/records?limit=1000")],
      ["as_of", await get(`/v1/collections/people/records?as_of=${encodeURIComponent(asOfBefore)}`)],
      ["search", await get("/v1/search?q=quinn")],
      ["search of the title", await get("/v1/search?q=plain")],
      ["members", await get("/v1/members")],
      ["shares", await get(`/v1/collections/people/records/${t.theirs.id}/shares`)],
      ["shares to them", await get(`/v1/collections/people/records/${t.other.id}/shares`)],
      ["audit", await get("/v1/audit?limit=1000")],
      ["platform audit", await get(`/v1/tenants/${t.id}/audit-logs?limit=1000`, admin)],
    ];
    for (const [label, body] of answers) expectNoTrace(label, body);
    const history = await get(`/v1/collections/people/records/${t.theirs.id}/history`);
    expect(history.items[0]?.actor).toBe(`user:${result.pseudonym}`);
    const shares = await get(`/v1/collections/people/records/${t.theirs.id}/shares`);
    expect(JSON.stringify(shares)).toContain(result.pseudonym);
    expect(await get("/v1/search?q=quinn")).toMatchObject({ items: [] });

    // The chain still verifies, and the subject's events read with the pseudonym.
    expect(await get("/v1/audit/verify")).toMatchObject({ ok: true });
    const byThem = await get(`/v1/audit?actor=${encodeURIComponent(`user:${result.pseudonym}`)}`);
    expect(byThem.items.length).toBeGreaterThan(0);
    // A replayed POST of the subject's is gone with its stored answer (it held their email).
    const stored = await runInDurableObject(stubOf(t.id), (_i, state) =>
      state.storage.sql.exec("SELECT body FROM idempotency_keys").toArray(),
    );
    expectNoTrace("stored idempotent answers", stored);
  });

  it("expires exports written before the erasure, and a new export holds no trace", async () => {
    const t = await scene();
    const before = await exportBundle(t.id, t.ownerToken);
    expect(before.text).toContain(SUBJECT);
    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: SUBJECT } });
    expect(await json(res)).toMatchObject({ exportsExpired: 1 });

    const job = await json(await call(`/v1/tenants/${t.id}/exports/${before.id}`, { token: t.ownerToken }));
    expect(job).toMatchObject({ status: "expired" });
    const download = await call(`/v1/tenants/${t.id}/exports/${before.id}/download`, { token: t.ownerToken });
    expect(download.status).toBe(404);
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/exports/${before.id}/` })).objects).toEqual([]);

    const after = await exportBundle(t.id, t.ownerToken);
    expect(after.text).toContain("other@keep.example");
    expectNoTrace("a new export", after.text);
    const job2 = await json(await call(`/v1/tenants/${t.id}/exports/${after.id}`, { token: t.ownerToken }));
    expect(job2).toMatchObject({ status: "completed" });
  });

  it("gives the same pseudonym for the same subject, and another for another", async () => {
    const t = await tenantWithNotes();
    for (const sub of ["ann", "ben"]) {
      await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub, roles: ["viewer"] } });
    }
    const erase = async (subject: string) =>
      json<{ pseudonym: string }>(
        await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject } }),
      );
    const ann = (await erase("ann")).pseudonym;
    expect((await erase("ann")).pseudonym).toBe(ann);
    expect((await erase("ben")).pseudonym).not.toBe(ann);
  });

  it("rewrites only references to the subject, not the same word elsewhere in the trail", async () => {
    const t = await tenantWithNotes();
    await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "tenant", roles: ["viewer"] } });
    const res = await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: "tenant" } });
    const { pseudonym } = await json<{ pseudonym: string }>(res);
    const audit = await json<Page<{ action: string; resource: string }>>(
      await call("/v1/audit?limit=1000", { token: t.ownerToken }),
    );
    expect(audit.items.find((e) => e.action === "member.add")?.resource).toBe(`member:${pseudonym}`);
    expect(audit.items.find((e) => e.action === "privacy.erasure")?.resource).toBe("tenant");
    expect(audit.items.filter((e) => e.resource === "tenant").length).toBeGreaterThan(1);
  });

  it("accepts the erasure's rewrite of audit events, but no other change to them", async () => {
    const t = await scene();
    await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: SUBJECT } });
    const verify = async () => json(await call("/v1/audit/verify", { token: t.ownerToken }));
    expect(await verify()).toMatchObject({ ok: true });
    const seq = await runInDurableObject(stubOf(t.id), (_i, state) => {
      const row = state.storage.sql
        .exec<{ key: string }>("SELECT key FROM meta WHERE key LIKE 'audit_redaction:%' ORDER BY key LIMIT 1")
        .one();
      const n = Number(row.key.slice("audit_redaction:".length));
      state.storage.sql.exec("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = ?", n);
      return n;
    });
    expect(await verify()).toMatchObject({ ok: false, brokenAt: seq });
  });

  it("keeps the archive of a hard-deleted tenant free of the subject", async () => {
    const t = await scene();
    await call("/v1/privacy/erasure", { method: "POST", token: t.ownerToken, body: { subject: SUBJECT } });
    const token = await adminToken();
    await call(`/v1/tenants/${t.id}`, { method: "DELETE", token });
    const { hardDeleteTenant } = await import("../src/control/tenant-deletion");
    const { getTenant } = await import("../src/control/tenant-service");
    expect((await hardDeleteTenant(env, await getTenant(env, t.id))).complete).toBe(true);
    expectNoTrace("archived audit", await json(await call(`/v1/tenants/${t.id}/audit-logs?limit=1000`, { token })));
    expect(await json(await call(`/v1/tenants/${t.id}/audit-logs/verify`, { token }))).toMatchObject({ ok: true });
  });
});
