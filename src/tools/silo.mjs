#!/usr/bin/env node
// The operator CLI: runs a Silo deployment through its admin API.
//   npm run silo -- <command> ...   (the commands and their options: USAGE below, or --help)
// Numbers read as the portal shows them (its format module; Node 22.18+ runs it as TypeScript,
// which `npm run silo` ensures with the project's own Node).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  formatCount,
  formatDateTime,
  formatLimit,
  formatMetric,
  formatMoney,
  formatPercent,
  humanize,
  limitLabel,
  metricLabel,
} from "../portal/format.ts";
import { changes } from "./silo-changes.mjs";
import { fleet } from "./silo-fleet.mjs";

const USAGE = `usage: npm run silo -- <command> [options]

  tenants list [--status S] [--tier T] [--q TEXT] [--all]
  tenants get|suspend|resume|cancel|restore <id>
  tenants create <id> [--name N] [--tier T] [--owner SUB] [--jurisdiction eu|fedramp] [--external-id ID]
                 [--parent ID] [--trial-days N]
  tenants update <id> [--name N] [--tier T] [--legal-hold on|off] [--external-id ID (once)]
  export <id> [--files] [--out DIR] [--no-wait]
  backups <id> | backups take <id> [--no-wait]
  restore <id> <backupId> [--no-wait]
  usage <id>
  sweeps list | sweeps run <retention|billing|backup|migrate|reconcile> [--no-wait]
  fleet schema                 which tenant-schema migration each tenant is on; failed migrations
  fleet alerts                 tenants that need an operator
  changes <id> [--since SEQ] [--collection C] [--follow] [--reason TEXT]
                               the tenant's change log (audited as an admin's access, with the reason)
  plans list

  --url URL      the deployment (SILO_URL; default http://localhost:8787)
  --token TOKEN  a platform-admin token (SILO_TOKEN; locally minted from .dev.vars)
  --json         print the API's JSON as is`;

class CliError extends Error {}

const options = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean", default: false },
  status: { type: "string" },
  tier: { type: "string" },
  q: { type: "string" },
  all: { type: "boolean", default: false },
  name: { type: "string" },
  owner: { type: "string" },
  jurisdiction: { type: "string" },
  "external-id": { type: "string" },
  parent: { type: "string" },
  "trial-days": { type: "string" },
  "legal-hold": { type: "string" },
  files: { type: "boolean", default: false },
  out: { type: "string" },
  since: { type: "string" },
  collection: { type: "string" },
  follow: { type: "boolean", default: false },
  reason: { type: "string" },
  "no-wait": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
};

async function adminToken(values) {
  const token = values.token ?? process.env.SILO_TOKEN;
  if (token) return token;
  if (!existsSync(".dev.vars")) {
    throw new CliError("No token: pass --token or set SILO_TOKEN (a platform-admin token of the deployment).");
  }
  const { readDevVars } = await import("./local-secrets.mjs");
  const { mintToken } = await import("./token.mjs");
  return mintToken(readDevVars(), { sub: "silo-cli", admin: true, ttl: "1h" });
}

function client(base, token) {
  async function call(method, path, body, extra = {}) {
    let res;
    try {
      res = await fetch(new URL(path, base), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...extra,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError(`Cannot reach ${base}: ${err.cause?.code ?? err.message}`);
    }
    if (res.ok) return res;
    const problem = await res.json().catch(() => ({}));
    const detail = problem.detail ?? problem.title ?? res.statusText;
    const fields = (problem.errors ?? []).map((e) => `\n  ${e.path ?? e.pointer ?? ""}: ${e.message}`).join("");
    throw new CliError(`${res.status} ${problem.code ?? ""} ${detail}${fields}`.replace(/ +/g, " "));
  }
  return {
    json: async (method, path, body, extra) => (await call(method, path, body, extra)).json(),
    raw: call,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pad = (value, width) => String(value ?? "").padEnd(width);

function printTenants(items) {
  console.log(`${pad("ID", 24)}${pad("STATUS", 11)}${pad("TIER", 12)}${pad("JURISDICTION", 14)}NAME`);
  for (const t of items) {
    console.log(`${pad(t.id, 24)}${pad(t.status, 11)}${pad(t.tier, 12)}${pad(t.jurisdiction ?? "-", 14)}${t.name}`);
  }
}

/** "Records 250,000, Storage 50 GiB, Requests per second 100 req/s". */
const limitsText = (limits) =>
  Object.entries(limits ?? {})
    .map(([k, v]) => `${limitLabel(k)} ${formatLimit(k, v)}`)
    .join(", ");

function printTenant(t) {
  const rows = [
    ["id", t.id],
    ["name", t.name],
    ["status", t.status],
    ["tier", t.tier],
    ["jurisdiction", t.jurisdiction ?? "-"],
    ["owner", t.owner],
    ["external id", t.externalId ?? "-"],
    ["legal hold", t.legalHold ? "on" : "off"],
    ["limits", limitsText(t.limits)],
    ["overrides", limitsText(t.limitOverrides) || "-"],
    ["config", t.config ? `version ${t.config.version}, applied ${t.config.applied}` : "-"],
    ["created", t.createdAt],
    ["updated", t.updatedAt],
  ];
  for (const [k, v] of rows) console.log(`${pad(k, 14)}${v}`);
}

function need(id, what = "tenant id") {
  if (!id) throw new CliError(`Missing the ${what}.\n\n${USAGE}`);
  return id;
}

async function tenants(api, [action, id], values) {
  const show = (t) => (values.json ? console.log(JSON.stringify(t, null, 2)) : printTenant(t));
  switch (action) {
    case "list": {
      const items = [];
      let cursor;
      do {
        const q = new URLSearchParams({ limit: values.all ? "1000" : "50" });
        for (const key of ["status", "tier", "q"]) if (values[key]) q.set(key, values[key]);
        if (cursor) q.set("cursor", cursor);
        const page = await api.json("GET", `/v1/tenants?${q}`);
        items.push(...page.items);
        cursor = values.all ? page.nextCursor : null;
      } while (cursor);
      if (values.json) console.log(JSON.stringify(items, null, 2));
      else printTenants(items);
      return;
    }
    case "get":
      return show(await api.json("GET", `/v1/tenants/${encodeURIComponent(need(id))}`));
    case "create": {
      const body = {
        id: need(id),
        name: values.name ?? id,
        tier: values.tier ?? "basic",
        owner: { sub: values.owner ?? "owner" },
        ...(values.jurisdiction ? { jurisdiction: values.jurisdiction } : {}),
        ...(values["external-id"] ? { externalId: values["external-id"] } : {}),
        ...(values.parent ? { parent: values.parent } : {}),
        ...(values["trial-days"] ? { trialDays: Number(values["trial-days"]) } : {}),
      };
      const tenant = await api.json("POST", "/v1/tenants", body);
      if (!values.json) console.log(`Created tenant '${tenant.id}' (${tenant.tier}).`);
      return show(tenant);
    }
    case "update": {
      const body = {};
      if (values.name) body.name = values.name;
      if (values.tier) body.tier = values.tier;
      if (values["legal-hold"]) body.legalHold = ["on", "true", "yes"].includes(values["legal-hold"]);
      if (values["external-id"]) body.externalId = values["external-id"];
      if (Object.keys(body).length === 0)
        throw new CliError("Nothing to update: give --name, --tier, --legal-hold or --external-id.");
      return show(await api.json("PUT", `/v1/tenants/${encodeURIComponent(need(id))}`, body));
    }
    case "suspend":
    case "resume":
    case "restore": {
      const tenant = await api.json("POST", `/v1/tenants/${encodeURIComponent(need(id))}/${action}`);
      if (!values.json) console.log(`Tenant '${tenant.id}' is now ${tenant.status}.`);
      return values.json ? show(tenant) : undefined;
    }
    case "cancel": {
      const tenant = await api.json("DELETE", `/v1/tenants/${encodeURIComponent(need(id))}`);
      if (!values.json) console.log(`Tenant '${tenant.id}' is now ${tenant.status}.`);
      return values.json ? show(tenant) : undefined;
    }
    default:
      throw new CliError(`Unknown tenants action '${action ?? ""}'.\n\n${USAGE}`);
  }
}

/** Polls a job until it ends, printing one progress line per change. */
async function follow(load, describe) {
  let last = "";
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    const job = await load();
    const line = describe(job);
    if (line !== last) {
      console.error(line);
      last = line;
      delay = 250;
    }
    if (job.status === "completed" || job.status === "failed") return job;
    await sleep(delay);
  }
}

const countsText = (counts) =>
  Object.entries(counts ?? {})
    .map(([k, v]) => `${humanize(k).toLowerCase()} ${formatCount(v)}`)
    .join(", ");

async function exportTenant(api, id, values) {
  const tenant = encodeURIComponent(need(id));
  const started = await api.json("POST", `/v1/tenants/${tenant}/export`, { copyFiles: values.files });
  console.error(`Export ${started.id} of '${id}' started.`);
  if (values["no-wait"]) return console.log(values.json ? JSON.stringify(started, null, 2) : started.id);
  const job = await follow(
    () => api.json("GET", `/v1/tenants/${tenant}/exports/${encodeURIComponent(started.id)}`),
    (j) => `  ${j.status}: ${j.parts.length} part(s) ${countsText(j.counts)}`.trimEnd(),
  );
  if (job.status === "failed") throw new CliError(`Export ${job.id} failed: ${job.error ?? "unknown error"}`);
  const dir = values.out ?? `${id}-export-${job.id}`;
  mkdirSync(dir, { recursive: true });
  for (const name of ["manifest.json", ...job.parts.map((p) => p.name)]) {
    const q = new URLSearchParams({ part: name });
    const res = await api.raw("GET", `/v1/tenants/${tenant}/exports/${encodeURIComponent(job.id)}/download?${q}`);
    const file = join(dir, name.replace(/[^A-Za-z0-9._-]/g, "_"));
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    console.error(`  downloaded ${file}`);
  }
  if (values.json) console.log(JSON.stringify(job, null, 2));
  else console.log(`Export ${job.id} completed: ${job.parts.length} part(s) in ${dir}`);
}

async function backups(api, [first, second], values) {
  if (first === "take") {
    const tenant = encodeURIComponent(need(second));
    const started = await api.json("POST", `/v1/tenants/${tenant}/backups`);
    console.error(`Backup ${started.id} of '${second}' started.`);
    if (values["no-wait"]) return console.log(values.json ? JSON.stringify(started, null, 2) : started.id);
    const job = await follow(
      () => api.json("GET", `/v1/tenants/${tenant}/exports/${encodeURIComponent(started.id)}`),
      (j) => `  ${j.status}: ${j.parts.length} part(s) ${countsText(j.counts)}`.trimEnd(),
    );
    if (job.status === "failed") throw new CliError(`Backup ${job.id} failed: ${job.error ?? "unknown error"}`);
    return console.log(values.json ? JSON.stringify(job, null, 2) : `Backup ${job.id} completed.`);
  }
  const { items } = await api.json("GET", `/v1/tenants/${encodeURIComponent(need(first))}/backups?limit=100`);
  if (values.json) return console.log(JSON.stringify(items, null, 2));
  console.log(`${pad("ID", 26)}${pad("STATUS", 11)}${pad("RECORDS", 9)}${pad("FILES", 7)}${pad("BYTES", 12)}AT`);
  for (const b of items) {
    console.log(`${pad(b.id, 26)}${pad(b.status, 11)}${pad(b.records, 9)}${pad(b.files, 7)}${pad(b.bytes, 12)}${b.at}`);
  }
}

async function restore(api, [id, backupId], values) {
  const tenant = encodeURIComponent(need(id));
  const path = `/v1/tenants/${tenant}/backups/${encodeURIComponent(need(backupId, "backup id"))}/restore`;
  const started = await api.json("POST", path);
  console.error(`Restore ${started.id} of '${id}' to ${backupId} started; the tenant answers 503 until it is done.`);
  if (values["no-wait"]) return console.log(values.json ? JSON.stringify(started, null, 2) : started.id);
  const job = await follow(
    () => api.json("GET", `/v1/tenants/${tenant}/restores/${encodeURIComponent(started.id)}`),
    (j) => `  ${j.status} ${countsText(j.counts)}`.trimEnd(),
  );
  if (job.status === "failed") throw new CliError(`Restore ${job.id} failed (the tenant is as it was): ${job.error}`);
  console.log(values.json ? JSON.stringify(job, null, 2) : `Tenant '${id}' restored to backup ${backupId}.`);
}

async function usage(api, id, values) {
  const u = await api.json("GET", `/v1/tenants/${encodeURIComponent(need(id))}/usage`);
  if (values.json) return console.log(JSON.stringify(u, null, 2));
  console.log(`Period ${u.period}`);
  console.log(`${pad("METRIC", 22)}${pad("USED", 14)}LIMIT`);
  const limitOf = {
    requests: u.limits.maxRequestsPerMonth,
    records: u.limits.maxRecords,
    storageBytes: u.limits.maxStorageBytes,
    members: u.limits.maxMembers,
    collections: u.limits.maxCollections,
  };
  const limitKey = { requests: "maxRequestsPerMonth", storageBytes: "maxStorageBytes" };
  for (const [metric, used] of Object.entries(u.current)) {
    const limit = limitOf[metric];
    const of = limit === undefined ? "-" : formatLimit(limitKey[metric] ?? "", limit);
    const share = limit > 0 && limit < Number.MAX_SAFE_INTEGER ? ` (${formatPercent(used / limit)})` : "";
    console.log(`${pad(metricLabel(metric), 22)}${pad(formatMetric(metric, used), 14)}${of}${share}`);
  }
  for (const p of u.periods) console.log(`${pad(p.period, 22)}${countsText(p.metrics)}`);
}

const plural = (n, one, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;
const failuresText = (n) => plural(n, "failure");
/** "40 of 120 tenants (33.3%)" when the run knows its total, else "40 tenants". */
function progress(run) {
  const total = run.counts?.total;
  if (typeof total !== "number") return plural(run.tenants, "tenant");
  const share = total > 0 ? ` (${formatPercent(run.tenants / total)})` : "";
  return `${formatCount(run.tenants)} of ${plural(total, "tenant")}${share}`;
}
const countsLine = (counts) => {
  const { total: _total, ...rest } = counts ?? {};
  const text = countsText(rest);
  return text ? ` — ${text}` : "";
};

async function sweeps(api, [action, kind], values) {
  if (action === "list") {
    const { items } = await api.json("GET", "/v1/sweeps?limit=20");
    if (values.json) return console.log(JSON.stringify(items, null, 2));
    console.log(`${pad("ID", 38)}${pad("KIND", 11)}${pad("STATUS", 11)}${pad("TENANTS", 9)}${pad("FAILED", 8)}STARTED`);
    for (const r of items) {
      console.log(
        `${pad(r.id, 38)}${pad(r.kind, 11)}${pad(r.status, 11)}${pad(formatCount(r.tenants), 9)}${pad(formatCount(r.failures), 8)}${formatDateTime(r.startedAt)}`,
      );
    }
    return;
  }
  if (action !== "run") throw new CliError(`Unknown sweeps action '${action ?? ""}'.\n\n${USAGE}`);
  const run = await api.json("POST", "/v1/sweeps", { kind: need(kind, "sweep kind") });
  console.error(`Sweep ${run.id} (${run.kind}) started.`);
  if (values["no-wait"]) return console.log(values.json ? JSON.stringify(run, null, 2) : run.id);
  const done = await follow(
    () => api.json("GET", `/v1/sweeps/${run.id}`),
    (r) => `  ${r.status}: ${progress(r)}, ${failuresText(r.failures)}${countsLine(r.counts)}`,
  );
  if (values.json) console.log(JSON.stringify(done, null, 2));
  else console.log(`Sweep ${done.id} ${done.status}: ${progress(done)}, ${failuresText(done.failures)}.`);
  if (done.status === "failed" || done.failures > 0) {
    for (const e of done.errors) console.error(`  ${e.tenant}: ${e.error}`);
    process.exitCode = 1;
  }
}

async function plans(api, values) {
  const { items } = await api.json("GET", "/v1/plans");
  if (values.json) return console.log(JSON.stringify(items, null, 2));
  for (const p of items) {
    console.log(`${pad(p.tier, 14)}${pad(formatMoney(p.prices?.baseCents), 12)}${limitsText(p.limits)}`);
  }
}

async function main() {
  const { values, positionals } = parseArgs({ options, allowPositionals: true });
  if (values.help || positionals.length === 0) return console.log(USAGE);
  const base = (values.url ?? process.env.SILO_URL ?? "http://localhost:8787").replace(/\/+$/, "");
  const api = client(`${base}/`, await adminToken(values));
  const [command, ...rest] = positionals;
  switch (command) {
    case "tenants":
      return tenants(api, rest, values);
    case "export":
      return exportTenant(api, rest[0], values);
    case "backups":
      return backups(api, rest, values);
    case "restore":
      return restore(api, rest, values);
    case "usage":
      return usage(api, rest[0], values);
    case "sweeps":
      return sweeps(api, rest, values);
    case "plans":
      return plans(api, values);
    case "fleet":
      return fleet(api, rest, values, (message) => new CliError(`${message}\n\n${USAGE}`));
    case "changes":
      return changes(api, rest, values, (message) => new CliError(`${message}\n\n${USAGE}`));
    default:
      throw new CliError(`Unknown command '${command}'.\n\n${USAGE}`);
  }
}

main().catch((err) => {
  console.error(err instanceof CliError ? err.message : err);
  process.exit(err instanceof CliError ? 1 : 2);
});
