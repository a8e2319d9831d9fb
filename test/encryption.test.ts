// Encrypted fields: AES-256-GCM ciphertext at rest (rows and versions) under the tenant's data
// key, decrypted for readers, equality through a keyed blind index, other operators refused;
// master key rotation re-wraps the key with the data intact.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { create, list, type Rec } from "./data-helpers";
import { adminToken, call, createTenant, json, userToken } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

const PATIENTS = {
  name: "patients",
  fields: [
    { name: "name", type: "string", required: true },
    { name: "ssn", type: "string", encrypted: true, unique: true },
    { name: "diagnosis", type: "text", encrypted: true, pii: true },
    { name: "age", type: "integer", encrypted: true, indexed: true },
  ],
};

async function tenantWithPatients() {
  const t = await createTenant(undefined, "alice", { settings: { autoJoinRole: "viewer" } });
  const res = await call("/v1/collections", { method: "POST", token: t.ownerToken, body: PATIENTS });
  expect(res.status, await res.clone().text()).toBe(201);
  return t;
}

describe("encrypted fields", () => {
  it("stores ciphertext in rows and versions, and decrypts for readers", async () => {
    const t = await tenantWithPatients();
    const r = await create(t.ownerToken, { name: "Ann", ssn: "123-45-6789", diagnosis: "flu", age: 41 }, "patients");
    expect(r).toMatchObject({ ssn: "123-45-6789", diagnosis: "flu", age: 41 });
    await call(`/v1/collections/patients/records/${r.id}`, {
      method: "PATCH",
      token: t.ownerToken,
      body: { diagnosis: "cold" },
    });

    const raw = await runInDurableObject(stubOf(t.id), (_i, state) => ({
      row: state.storage.sql.exec("SELECT * FROM c_patients").one(),
      versions: state.storage.sql
        .exec<{ data: string }>("SELECT data FROM record_versions WHERE collection = 'patients'")
        .toArray(),
    }));
    for (const column of ["ssn", "diagnosis", "age"]) expect(String(raw.row[column])).toMatch(/^e1\.[0-9a-f]{8}\./);
    expect(JSON.stringify(raw)).not.toMatch(/123-45-6789|flu|cold/);
    expect(raw.versions).toHaveLength(2);

    const read = await json<Rec>(await call(`/v1/collections/patients/records/${r.id}`, { token: t.ownerToken }));
    expect(read).toMatchObject({ ssn: "123-45-6789", diagnosis: "cold", age: 41 });
    const history = await json<{ items: { data: Rec }[] }>(
      await call(`/v1/collections/patients/records/${r.id}/history`, { token: t.ownerToken }),
    );
    expect(history.items.map((v) => v.data.diagnosis)).toEqual(["flu", "cold"]);
    // A viewer reads the encrypted fields, but pii ones masked.
    const viewer = await json<Rec>(
      await call(`/v1/collections/patients/records/${r.id}`, { token: await userToken(t.id, "vic") }),
    );
    expect(viewer).toMatchObject({ ssn: "123-45-6789", diagnosis: "***" });
  });

  it("filters equality through the blind index and refuses other operators and sorting", async () => {
    const t = await tenantWithPatients();
    const ann = await create(t.ownerToken, { name: "Ann", ssn: "111", age: 41 }, "patients");
    const bob = await create(t.ownerToken, { name: "Bob", ssn: "222", age: 52 }, "patients");
    expect((await list(t.ownerToken, "ssn=eq.222", "patients")).items.map((r) => r.id)).toEqual([bob.id]);
    expect((await list(t.ownerToken, "age=eq.41", "patients")).items.map((r) => r.id)).toEqual([ann.id]);
    expect((await list(t.ownerToken, "ssn=in.111,222&sort=name", "patients")).items.map((r) => r.id)).toEqual([
      ann.id,
      bob.id,
    ]);
    expect((await list(t.ownerToken, "diagnosis=is.null&sort=name", "patients")).items).toHaveLength(2);
    for (const q of ["age=gt.40", "ssn=like.1*", "sort=ssn", `ssn=eq.111&as_of=${new Date().toISOString()}`]) {
      const res = await call(`/v1/collections/patients/records?${q}`, { token: t.ownerToken });
      expect(res.status, q).toBe(400);
    }
    const dup = await call("/v1/collections/patients/records", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "X", ssn: "111" },
    });
    expect(dup.status).toBe(409);
  });

  it("refuses searchable encrypted fields, and blind indexes differ between tenants", async () => {
    const t = await createTenant();
    const res = await call("/v1/collections", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "x", fields: [{ name: "secret", type: "string", encrypted: true, searchable: true }] },
    });
    expect(res.status).toBe(400);
    const a = await tenantWithPatients();
    const b = await tenantWithPatients();
    await create(a.ownerToken, { name: "A", ssn: "same" }, "patients");
    await create(b.ownerToken, { name: "B", ssn: "same" }, "patients");
    const token = (tenant: string) =>
      runInDurableObject(
        stubOf(tenant),
        (_i, state) => state.storage.sql.exec<{ t: string }>("SELECT ssn__bi AS t FROM c_patients").one().t,
      );
    expect(await token(a.id)).not.toBe(await token(b.id));
  });

  it("re-wraps the data key under the master key with the data intact", async () => {
    const t = await tenantWithPatients();
    const r = await create(t.ownerToken, { name: "Ann", ssn: "999" }, "patients");
    const before = await env.CONTROL_DB.prepare("SELECT wrapped_key FROM tenants WHERE id = ?")
      .bind(t.id)
      .first<{ wrapped_key: string }>();
    const res = await call(`/v1/tenants/${t.id}/rotate-key`, {
      method: "POST",
      token: await adminToken(),
      body: { mode: "rewrap" },
    });
    expect(res.status).toBe(200);
    const after = await env.CONTROL_DB.prepare("SELECT wrapped_key FROM tenants WHERE id = ?")
      .bind(t.id)
      .first<{ wrapped_key: string }>();
    expect(after?.wrapped_key).not.toBe(before?.wrapped_key);
    expect((await json<Rec>(await call(`/v1/collections/patients/records/${r.id}`, { token: t.ownerToken }))).ssn).toBe(
      "999",
    );
    expect((await list(t.ownerToken, "ssn=eq.999", "patients")).items).toHaveLength(1);
    expect(
      (await call(`/v1/tenants/${t.id}/rotate-key`, { method: "POST", token: t.ownerToken, body: { mode: "rewrap" } }))
        .status,
    ).toBe(403);
  });

  it("rotates the data key: values re-encrypted in chunks, reads and filters work throughout, old key destroyed", async () => {
    const t = await tenantWithPatients();
    const ids: string[] = [];
    for (let i = 0; i < 8; i++)
      ids.push((await create(t.ownerToken, { name: `p${i}`, ssn: `ssn-${i}`, age: 30 + i }, "patients")).id);
    await call(`/v1/collections/patients/records/${ids[0]}`, {
      method: "PATCH",
      token: t.ownerToken,
      body: { diagnosis: "x" },
    });
    const keyIds = () =>
      runInDurableObject(stubOf(t.id), (_i, state) => ({
        rows: new Set(
          state.storage.sql
            .exec<{ s: string }>("SELECT ssn AS s FROM c_patients")
            .toArray()
            .map((r) => r.s.split(".")[1]),
        ),
        versions: new Set(
          state.storage.sql
            .exec<{ d: string }>("SELECT data AS d FROM record_versions WHERE collection = 'patients'")
            .toArray()
            .map((r) => String(JSON.parse(r.d).ssn).split(".")[1]),
        ),
      }));
    const before = await keyIds();
    expect(before.rows.size).toBe(1);

    const token = await adminToken();
    const started = await call(`/v1/tenants/${t.id}/rotate-key`, { method: "POST", token, body: { mode: "data" } });
    const rotation = await json<{ job: { id: string } }>(started);
    expect(started.status).toBe(202);
    // Nothing re-encrypted yet: old values still read and filter through the key ring.
    expect(
      (await json<Rec>(await call(`/v1/collections/patients/records/${ids[3]}`, { token: t.ownerToken }))).ssn,
    ).toBe("ssn-3");
    expect((await list(t.ownerToken, "ssn=eq.ssn-5", "patients")).items.map((r) => r.id)).toEqual([ids[5]]);
    const fresh = await create(t.ownerToken, { name: "new", ssn: "ssn-new" }, "patients");
    expect((await list(t.ownerToken, "ssn=eq.ssn-new", "patients")).items.map((r) => r.id)).toEqual([fresh.id]);
    expect(
      (await call(`/v1/tenants/${t.id}/rotate-key`, { method: "POST", token, body: { mode: "data" } })).status,
    ).toBe(409);

    for (let i = 0; i < 50; i++) {
      const job = await json<{ status: string }>(
        await call(`/v1/tenants/${t.id}/exports/${rotation.job.id}`, { token }),
      );
      if (job.status === "completed") break;
      await runDurableObjectAlarm(stubOf(t.id));
    }
    const after = await keyIds();
    expect(after.rows.size).toBe(1);
    expect(after.versions).toEqual(after.rows);
    expect([...after.rows][0]).not.toBe([...before.rows][0]);

    const status = await json<{ complete: boolean }>(await call(`/v1/tenants/${t.id}/rotate-key`, { token }));
    expect(status.complete).toBe(true);
    const row = await env.CONTROL_DB.prepare("SELECT retired_keys FROM tenants WHERE id = ?")
      .bind(t.id)
      .first<{ retired_keys: string }>();
    expect(JSON.parse(row?.retired_keys ?? "null")).toEqual([]);
    expect(
      (await json<Rec>(await call(`/v1/collections/patients/records/${ids[0]}`, { token: t.ownerToken }))).diagnosis,
    ).toBe("x");
    expect((await list(t.ownerToken, "ssn=eq.ssn-7", "patients")).items.map((r) => r.id)).toEqual([ids[7]]);
    const history = await json<{ items: { data: Rec }[] }>(
      await call(`/v1/collections/patients/records/${ids[0]}/history`, { token: t.ownerToken }),
    );
    expect(history.items.map((v) => v.data.ssn)).toEqual(["ssn-0", "ssn-0"]);
  });
});
