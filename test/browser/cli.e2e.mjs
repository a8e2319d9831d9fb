// The operator CLI (src/tools/silo.mjs) against a running Worker: each command's output and exit
// code, progress lines for exports and sweeps, and clear errors.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function silo(ctx, args, { token = ctx.adminToken } = {}) {
  return new Promise((resolve) => {
    const child = spawn("node", ["src/tools/silo.mjs", "--url", ctx.base, "--token", token, ...args], {
      env: { ...process.env, SILO_URL: "", SILO_TOKEN: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const id = `cli-${Date.now().toString(36)}`;

async function ownerCall(ctx, path, init = {}) {
  const token = await ctx.token({ sub: "bob", tenant: id });
  const res = await fetch(`${ctx.base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

export const cliTests = [
  [
    "tenants create makes a tenant with the tier and owner given",
    async (ctx) => {
      const r = await silo(ctx, ["tenants", "create", id, "--tier", "pro", "--owner", "bob", "--name", "CLI Co"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Created tenant '${id}' \\(pro\\)`));
      const me = await ownerCall(ctx, "/v1/me");
      assert.equal(me.tenant.id, id);
      assert.equal(me.tenant.tier, "pro");
      assert.equal(me.principal.sub, "bob");
    },
  ],
  [
    "tenants create --parent --trial-days makes a child on trial",
    async (ctx) => {
      // Not containing the id: the list test below searches for it and expects just one tenant.
      const child = `kid-${Date.now().toString(36)}`;
      const r = await silo(ctx, ["tenants", "create", child, "--parent", id, "--trial-days", "5", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const tenant = JSON.parse(r.stdout);
      assert.equal(tenant.parent, id);
      assert.equal(tenant.status, "trial");
      const days = (Date.parse(tenant.trialEndsAt) - Date.now()) / 86_400_000;
      assert.ok(days > 4.9 && days <= 5, `${tenant.trialEndsAt}`);
      const bad = await silo(ctx, [
        "tenants",
        "create",
        `orphan-${Date.now().toString(36)}`,
        "--parent",
        "no-such-tenant",
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /parent/i);
    },
  ],
  [
    "tenants list finds it by search, with its status and tier",
    async (ctx) => {
      const r = await silo(ctx, ["tenants", "list", "--q", id]);
      assert.equal(r.code, 0, r.stderr);
      const line = r.stdout.split("\n").find((l) => l.startsWith(id));
      assert.ok(line, r.stdout);
      assert.match(line, /active\s+pro\s+-\s+CLI Co/);
      const json = JSON.parse((await silo(ctx, ["tenants", "list", "--q", id, "--json"])).stdout);
      assert.deepEqual(
        json.map((t) => t.id),
        [id],
      );
    },
  ],
  [
    "tenants suspend refuses the tenant's own calls until resume",
    async (ctx) => {
      const s = await silo(ctx, ["tenants", "suspend", id]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /is now suspended/);
      const token = await ctx.token({ sub: "bob", tenant: id });
      const refused = await fetch(`${ctx.base}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(refused.status, 403);
      assert.equal((await refused.json()).code, "tenant_suspended");
      const r = await silo(ctx, ["tenants", "resume", id]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /is now active/);
      await ownerCall(ctx, "/v1/me");
    },
  ],
  [
    "tenants update changes the tier; tenants get shows it",
    async (ctx) => {
      const u = await silo(ctx, ["tenants", "update", id, "--tier", "enterprise", "--legal-hold", "on"]);
      assert.equal(u.code, 0, u.stderr);
      const g = await silo(ctx, ["tenants", "get", id]);
      assert.match(g.stdout, /tier\s+enterprise/);
      assert.match(g.stdout, /legal hold\s+on/);
    },
  ],
  [
    "usage shows the period's counters against the limits",
    async (ctx) => {
      await ownerCall(ctx, "/v1/collections", {
        method: "POST",
        body: JSON.stringify({ name: "notes", fields: [{ name: "title", type: "string" }] }),
      });
      for (const title of ["a", "b", "c"]) {
        await ownerCall(ctx, "/v1/collections/notes/records", { method: "POST", body: JSON.stringify({ title }) });
      }
      const r = await silo(ctx, ["usage", id]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Period \d{4}-\d{2}$/m);
      // Numbers read as the portal shows them: separators, units, the share of the limit.
      assert.match(r.stdout, /^Records\s+3\s+[\d,]+ \([<\d.]+%\)$/m);
      assert.match(r.stdout, /^Storage\s+0 B\s+[\d.]+ [KMGT]iB/m);
    },
  ],
  [
    "export waits with progress lines and downloads every part",
    async (ctx) => {
      const out = mkdtempSync(join(tmpdir(), "silo-cli-export-"));
      const r = await silo(ctx, ["export", id, "--out", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Export \S+ of '.+' started\./);
      assert.match(r.stderr, /completed: \d+ part\(s\)/);
      assert.match(r.stdout, /completed: \d+ part\(s\) in /);
      const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
      assert.equal(manifest.tenant, id);
      const files = readdirSync(out);
      const parts = files.filter((f) => f.startsWith("records_notes_"));
      assert.ok(parts.length >= 2, `records come in chunks of 2 rows: ${files.join(", ")}`);
      const titles = parts.flatMap((f) =>
        readFileSync(join(out, f), "utf8")
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line).data?.title ?? JSON.parse(line).title),
      );
      assert.deepEqual(titles.sort(), ["a", "b", "c"]);
    },
  ],
  [
    "backups take, backups lists it, restore brings the tenant back to it",
    async (ctx) => {
      assert.equal((await silo(ctx, ["tenants", "update", id, "--legal-hold", "off"])).code, 0);
      const taken = await silo(ctx, ["backups", "take", id]);
      assert.equal(taken.code, 0, taken.stderr);
      const backupId = /Backup (\S+) completed\./.exec(taken.stdout)?.[1];
      assert.ok(backupId, taken.stdout);
      const listed = await silo(ctx, ["backups", id]);
      assert.match(listed.stdout, new RegExp(`${backupId.replace(/\./g, "\\.")}\\s+completed\\s+3\\s+`));
      await ownerCall(ctx, "/v1/collections/notes/records", { method: "POST", body: JSON.stringify({ title: "d" }) });
      const r = await silo(ctx, ["restore", id, backupId]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Tenant '${id}' restored to backup `));
      const page = await ownerCall(ctx, "/v1/collections/notes/records");
      assert.deepEqual(page.items.map((x) => x.title).sort(), ["a", "b", "c"]);
    },
  ],
  [
    "sweeps run follows a retention sweep to its end; sweeps list shows it",
    async (ctx) => {
      const r = await silo(ctx, ["sweeps", "run", "retention"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Sweep \S+ completed: ([\d,]+) of \1 tenants? \(100%\), 0 failures\./);
      const runId = /Sweep (\S+) completed/.exec(r.stdout)[1];
      const list = await silo(ctx, ["sweeps", "list"]);
      assert.match(list.stdout, new RegExp(`${runId}\\s+retention\\s+completed`));
    },
  ],
  [
    "sweeps run migrate wakes every tenant; fleet schema shows them on the newest migration",
    async (ctx) => {
      const r = await silo(ctx, ["sweeps", "run", "migrate"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /completed: ([\d,]+) of \1 tenants? \(100%\), 0 failures/);
      const s = await silo(ctx, ["fleet", "schema"]);
      assert.equal(s.code, 0, s.stderr);
      const latest = /^Newest migration: (\S+)$/m.exec(s.stdout)?.[1];
      assert.ok(latest, s.stdout);
      assert.match(s.stdout, new RegExp(`^${latest} \\(newest\\)\\s+[\\d,]+\\s+100%$`, "m"));
      assert.match(s.stdout, /No failed migrations\./);
      const json = JSON.parse((await silo(ctx, ["fleet", "schema", "--json"])).stdout);
      assert.equal(json.latest, latest);
    },
  ],
  [
    "fleet alerts names a tenant over 80% of a limit; sweeps run reconcile finishes",
    async (ctx) => {
      const u = await silo(ctx, ["tenants", "update", id, "--tier", "enterprise"]);
      assert.equal(u.code, 0, u.stderr);
      const admin = { authorization: `Bearer ${ctx.adminToken}`, "content-type": "application/json" };
      const put = await fetch(`${ctx.base}/v1/tenants/${id}`, {
        method: "PUT",
        headers: admin,
        body: JSON.stringify({ limits: { maxRecords: 3 } }),
      });
      assert.equal(put.status, 200, await put.text());
      // The hourly billing pass refreshes each object's report; run it now.
      assert.equal((await silo(ctx, ["sweeps", "run", "billing"])).code, 0);
      const a = await silo(ctx, ["fleet", "alerts"]);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, new RegExp(`^${id}\\s+near a limit\\s+.*Records 3 of 3 \\(100%\\)$`, "m"));
      const r = await silo(ctx, ["sweeps", "run", "reconcile"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Sweep \S+ completed: /);
    },
  ],
  [
    "errors are clear: unknown tenant, bad input, a token that is not an admin's, no server",
    async (ctx) => {
      const missing = await silo(ctx, ["tenants", "get", "no-such-tenant"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^404 not_found /);
      const bad = await silo(ctx, ["tenants", "create", "Bad_Id"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^400 validation_failed /);
      const userToken = await ctx.token({ sub: "bob", tenant: id });
      const denied = await silo(ctx, ["tenants", "list"], { token: userToken });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /^403 /);
      const down = await silo({ ...ctx, base: "http://127.0.0.1:9" }, ["tenants", "list"]);
      assert.equal(down.code, 1);
      assert.match(down.stderr, /Cannot reach/);
      assert.ok(!existsSync("no-such-tenant-export"));
    },
  ],
  [
    "changes prints the tenant's change log, audited as an admin's access with its reason",
    async (ctx) => {
      const tenant = `${id}-ch`;
      assert.equal((await silo(ctx, ["tenants", "create", tenant, "--owner", "bob"])).code, 0);
      const token = await ctx.token({ sub: "bob", tenant });
      const post = async (path, body) => {
        const res = await fetch(`${ctx.base}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        assert.ok(res.ok, `${path}: ${res.status}`);
        return res.json();
      };
      await post("/v1/collections", { name: "notes", fields: [{ name: "title", type: "string" }] });
      const note = await post("/v1/collections/notes/records", { title: "hello" });
      const r = await silo(ctx, ["changes", tenant, "--reason", "e2e check"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /collection\.changed\s+notes/);
      assert.match(r.stdout, new RegExp(`record\\.created\\s+notes/${note.id} v1\\s+user:bob`));
      const json = (await silo(ctx, ["changes", tenant, "--json", "--since", "1"])).stdout.trim().split("\n");
      assert.deepEqual(
        json.map((l) => JSON.parse(l).id),
        [note.id],
      );
      const audit = await fetch(`${ctx.base}/v1/audit?action=platform_admin.access`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.match(JSON.stringify(await audit.json()), /e2e check/);
    },
  ],
];
