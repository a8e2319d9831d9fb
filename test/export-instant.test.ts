// Exports and backups are consistent as of one instant (DESIGN §11 point in time): whatever the
// tenant writes between the job's chunks, the bundle holds the state when the job started, and
// its manifest says which instant (asOf) and which change-log event (changeSeq) it covers.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { create, type Rec, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, json } from "./helpers";

const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));

interface Job {
  id: string;
  status: string;
  error: string | null;
  counts: Record<string, number>;
  parts: { name: string; path?: string }[];
}

const jobOf = async (tenant: string, id: string) =>
  json<Job>(await call(`/v1/tenants/${tenant}/exports/${id}`, { token: await adminToken() }));

async function part(tenant: string, id: string, name: string) {
  const res = await call(`/v1/tenants/${tenant}/exports/${id}/download?part=${encodeURIComponent(name)}`, {
    token: await adminToken(),
  });
  expect(res.status, name).toBe(200);
  return res.text();
}

const rowsOf = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** The bundle's rows of one section, over all its parts. */
async function section(tenant: string, job: Job, prefix: string) {
  const rows: Record<string, unknown>[] = [];
  for (const p of job.parts.filter((x) => x.name.startsWith(prefix)))
    rows.push(...rowsOf(await part(tenant, job.id, p.name)));
  return rows;
}

async function lastSeq(token: string) {
  const page = await json<{ items: { seq: number }[] }>(await call("/v1/changes?limit=1000", { token }));
  return page.items.at(-1)?.seq ?? 0;
}

describe("a bundle consistent as of one instant", () => {
  for (const kind of ["export", "backup"] as const) {
    it(`a ${kind} holds the state at its start, though records, members and files change between its chunks`, async () => {
      const t = await tenantWithNotes();
      const made: Rec[] = [];
      for (let i = 0; i < 8; i++) made.push(await create(t.ownerToken, { title: `note ${i}`, rank: i }));
      await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "bob", roles: ["viewer"] } });
      await callRaw("/v1/files/f.txt", { method: "PUT", token: t.ownerToken, body: "first bytes" });
      const seq = await lastSeq(t.ownerToken);
      const before = new Date().toISOString();

      const started = await call(kind === "export" ? `/v1/tenants/${t.id}/export` : `/v1/tenants/${t.id}/backups`, {
        method: "POST",
        token: await adminToken(),
        ...(kind === "export" ? { body: { copyFiles: true } } : {}),
      });
      expect(started.status, await started.clone().text()).toBe(202);
      const { id } = await json<Job>(started);
      await runDurableObjectAlarm(stubOf(t.id)); // the first chunks are written

      // Between chunks: updates, a delete, a new record, a new member, a file replaced and one added.
      const at = (i: number) => `/v1/collections/notes/records/${made[i]?.id}`;
      await call(at(7), { method: "PATCH", token: t.ownerToken, body: { title: "changed after" } });
      await call(at(6), { method: "DELETE", token: t.ownerToken });
      await call(at(0), { method: "PATCH", token: t.ownerToken, body: { rank: 100 } });
      await create(t.ownerToken, { title: "born after", rank: 99 });
      await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "carol", roles: ["viewer"] } });
      await callRaw("/v1/files/f.txt", { method: "PUT", token: t.ownerToken, body: "second bytes" });
      await callRaw("/v1/files/g.txt", { method: "PUT", token: t.ownerToken, body: "new file" });

      let job = await jobOf(t.id, id);
      for (let i = 0; i < 200 && job.status !== "completed" && job.status !== "failed"; i++) {
        await runDurableObjectAlarm(stubOf(t.id));
        job = await jobOf(t.id, id);
      }
      expect(job.status, job.error ?? "").toBe("completed");

      const manifest = JSON.parse(await part(t.id, id, "manifest.json")) as { asOf: string; changeSeq: number };
      expect(manifest.changeSeq).toBe(seq);
      expect(manifest.asOf >= before && manifest.asOf <= new Date().toISOString()).toBe(true);

      const records = await section(t.id, job, "records/notes/");
      const byId = new Map(records.map((r) => [r.id as string, r]));
      expect([...byId.keys()].sort()).toEqual(made.map((r) => r.id).sort());
      for (const [i, r] of made.entries()) {
        expect(byId.get(r.id), `note ${i}`).toMatchObject({
          title: `note ${i}`,
          rank: i,
          version: 1,
          deleted_at: null,
        });
      }
      const history = await section(t.id, job, "history/notes/");
      expect(history).toHaveLength(8);
      expect((await section(t.id, job, "members/")).map((m) => m.sub).sort()).toEqual(["alice", "bob"]);
      const files = await section(t.id, job, "files/");
      expect(files.map((f) => f.path)).toEqual(["f.txt"]);
      // f.txt was replaced after the instant: its bytes then no longer exist, so no blob claims them.
      expect(job.parts.filter((p) => p.name.startsWith("blobs/"))).toEqual([]);
      expect(job.counts.filesChanged).toBe(1);
    });
  }
});
