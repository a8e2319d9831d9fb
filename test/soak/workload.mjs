#!/usr/bin/env node
// The soak's client: a mixed workload over many tenants (one sequential actor per tenant), run in
// its own process so it outlives every crash of the runtime. Every answered write is appended to
// a log (JSON lines) that the checker compares with what the tenants hold afterwards. A request
// that got no answer (the runtime died under it) may or may not have happened: creates and
// batches are retried with their Idempotency-Key until answered; any other write is logged as
// "maybe" and the actor reads the record again before going on.
//
//   node test/soak/workload.mjs <base> <tenants> <seconds> <logFile> <seed>   (secrets in SOAK_VARS)
import { createHash } from "node:crypto";
import { createWriteStream, writeFileSync } from "node:fs";
import { tokenSigner } from "../bench/tokens.mjs";

const [base, tenantCount, seconds, logFile, seedArg] = process.argv.slice(2);
const vars = JSON.parse(process.env.SOAK_VARS ?? "{}");
const TENANTS = Number(tenantCount);
const DEADLINE = Date.now() + Number(seconds) * 1000;
/** After the deadline, retries of unanswered idempotent writes go on this long at most. */
const DRAIN_MS = 60_000;

let seed = Number(seedArg) >>> 0 || 1;
/** mulberry32: a seeded PRNG, so a run's mix of operations can be repeated. */
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Nothing to do once the soak that started it is gone (Ctrl-C, a test timeout).
const parent = process.ppid;
setInterval(() => process.ppid !== parent && process.exit(2), 1000).unref();

const out = createWriteStream(logFile, { flags: "a" });
let lineSeq = 0;
/** One log line; `seq` orders lines across tenants (one process, one clock). */
const log = (entry) => out.write(`${JSON.stringify({ seq: ++lineSeq, at: Date.now(), ...entry })}\n`);

const sign = tokenSigner(vars, "6h");

/** Figures the checker needs beside the log: attempts per tenant, by kind and outcome. */
const stats = {};
const tally = (tenant, kind, answered) => {
  stats[tenant] ??= { writes: 0, writesUnanswered: 0, reads: 0, readsUnanswered: 0, readTimes: [] };
  const s = stats[tenant];
  if (kind === "write") answered ? s.writes++ : s.writesUnanswered++;
  else if (answered) {
    s.reads++;
    s.readTimes.push(Date.now());
  } else s.readsUnanswered++;
};
const outcomes = { answered: 0, unanswered: 0, byStatus: {} };

/**
 * One HTTP attempt. Answered: a status below 500 (the runtime decided). Anything else (a socket
 * error, a timeout, a 5xx while the runtime restarts) is unanswered: it may or may not have
 * happened.
 */
async function attempt(token, method, path, { body, headers = {}, raw } = {}) {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
      signal: AbortSignal.timeout(20_000),
    });
    const text = method === "HEAD" ? "" : await res.text();
    outcomes.byStatus[res.status] = (outcomes.byStatus[res.status] ?? 0) + 1;
    if (res.status >= 500) {
      outcomes.unanswered++;
      return null;
    }
    outcomes.answered++;
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, json, headers: res.headers, text };
  } catch {
    outcomes.unanswered++;
    outcomes.byStatus.socket = (outcomes.byStatus.socket ?? 0) + 1;
    return null;
  }
}

/** Retries until answered (a read or an idempotent write), or gives up after the drain. */
async function untilAnswered(t, kind, method, path, opts) {
  for (let i = 0; ; i++) {
    const res = await attempt(t.token, method, path, opts);
    tally(t.id, kind, res !== null);
    if (res) return { res, attempts: i + 1 };
    if (Date.now() > DEADLINE + DRAIN_MS) return { res: null, attempts: i + 1 };
    await sleep(Math.min(100 * 2 ** i, 1000));
  }
}

const admin = await sign({ scope: "platform:admin" }, "soak-admin");
const tenants = Array.from({ length: TENANTS }, (_, i) => ({
  i,
  id: `soak-${String(i).padStart(3, "0")}`,
  // Every fourth tenant has small quotas, so the workload runs into them.
  small: i % 4 === 0,
  records: new Map(), // id -> { version, deleted, title, bucket }
  files: new Map(), // path -> etag
  members: new Map(), // sub -> roles
  writes: 0,
}));
const LIMITS = {
  small: { requestsPerSecond: 1e6, burst: 1e6, maxRecords: 60, maxStorageBytes: 40_000, maxMembers: 4 },
  large: { requestsPerSecond: 1e6, burst: 1e6, maxRecords: 1e6, maxStorageBytes: 1e9, maxMembers: 50 },
};

async function setup(t) {
  const created = await attempt(admin, "POST", "/v1/tenants", {
    body: {
      id: t.id,
      name: t.id,
      tier: "pro",
      owner: { sub: "owner" },
      limits: t.small ? LIMITS.small : LIMITS.large,
    },
  });
  if (created?.status !== 201) throw new Error(`create ${t.id}: ${created?.status} ${created?.text}`);
  t.token = await sign({ tenant_id: t.id }, "owner");
  const col = await attempt(t.token, "POST", "/v1/collections", {
    body: {
      name: "notes",
      fields: [
        { name: "title", type: "string", required: true, searchable: true },
        { name: "body", type: "text", searchable: true },
        { name: "key", type: "string", indexed: true },
        { name: "n", type: "integer" },
      ],
    },
  });
  if (col?.status !== 201) throw new Error(`collection ${t.id}: ${col?.status} ${col?.text}`);
  tally(t.id, "write", true);
}

let tokenSeq = 0;
const token = (t) => `w${t.i}x${++tokenSeq}`;
const recordData = (t, key) => {
  const bucket = Math.floor(t.records.size / 40);
  return { title: `soak ${token(t)}`, body: `soak b${bucket} record`, key, n: Math.floor(random() * 1000) };
};
const ackRecord = (t, rec, op) => {
  t.records.set(rec.id, { version: rec.version, deleted: op === "delete", title: rec.title });
  log({ k: "rec", tenant: t.id, id: rec.id, version: rec.version, op, title: rec.title, key: rec.key });
};

/** Reads a record again after a write that got no answer, so the actor knows its version. */
async function resolve(t, id) {
  const { res } = await untilAnswered(t, "read", "GET", `/v1/collections/notes/records/${id}?include_deleted=true`);
  if (res?.status === 200) {
    t.records.set(id, { version: res.json.version, deleted: res.json.deletedAt != null, title: res.json.title });
  }
}

/** Creates and batches: retried with the same Idempotency-Key until the runtime answers. */
async function idempotent(t, path, body, kind) {
  const key = `${t.id}-${kind}-${++tokenSeq}`;
  const { res, attempts } = await untilAnswered(t, "write", "POST", path, {
    body: typeof body === "function" ? body(key) : body,
    headers: { "idempotency-key": key },
  });
  if (!res) return log({ k: "idem-open", tenant: t.id, key, kind });
  return { res, key, attempts };
}

const ops = {
  async create(t) {
    const r = await idempotent(t, "/v1/collections/notes/records", (key) => recordData(t, key), "create");
    if (!r) return;
    if (r.res.status === 201) {
      ackRecord(t, r.res.json, "create");
      log({ k: "idem", tenant: t.id, key: r.key, ids: [r.res.json.id], attempts: r.attempts });
    } else if (r.res.json?.code === "quota_exceeded") log({ k: "refused", tenant: t.id, what: "records" });
    else log({ k: "odd", tenant: t.id, op: "create", status: r.res.status, text: r.res.text.slice(0, 300) });
  },
  async batch(t) {
    const live = [...t.records].filter(([, r]) => !r.deleted);
    const r = await idempotent(
      t,
      "/v1/collections/notes/records:batch",
      (key) => {
        const operations = [
          { op: "create", data: recordData(t, `${key}#0`) },
          { op: "create", data: recordData(t, `${key}#1`) },
        ];
        if (live.length) operations.push({ op: "update", id: pick(live)[0], data: { title: `soak ${token(t)}` } });
        if (live.length > 4 && random() < 0.5) operations.push({ op: "delete", id: pick(live)[0] });
        // An update and a delete of the same record in one batch: keep one.
        if (operations[2] && operations[3] && operations[2].id === operations[3].id) operations.pop();
        return { operations };
      },
      "batch",
    );
    if (!r) return;
    if (r.res.status === 200) {
      const kinds = ["create", "create", "update", "delete"];
      r.res.json.results.forEach((rec, i) => {
        ackRecord(t, rec, rec.deletedAt ? "delete" : (kinds[i] ?? "update"));
      });
      log({ k: "idem", tenant: t.id, key: r.key, ids: r.res.json.results.slice(0, 2).map((x) => x.id), batch: true });
    } else if (r.res.json?.code === "quota_exceeded") log({ k: "refused", tenant: t.id, what: "records" });
    else if (r.res.status !== 404) log({ k: "odd", tenant: t.id, op: "batch", status: r.res.status });
  },
  async update(t) {
    const live = [...t.records].filter(([, r]) => !r.deleted);
    if (!live.length) return ops.create(t);
    const [id, rec] = pick(live);
    const title = `soak ${token(t)}`;
    const res = await attempt(t.token, "PATCH", `/v1/collections/notes/records/${id}`, {
      body: { title, n: Math.floor(random() * 1000) },
      headers: { "if-match": `"${rec.version}"` },
    });
    tally(t.id, "write", res !== null);
    if (!res) {
      log({ k: "maybe-rec", tenant: t.id, id, op: "update", title });
      return resolve(t, id);
    }
    if (res.status === 200) return ackRecord(t, res.json, "update");
    if (res.status === 412) return resolve(t, id);
    log({ k: "odd", tenant: t.id, op: "update", status: res.status, text: res.text.slice(0, 300) });
  },
  async remove(t) {
    const live = [...t.records].filter(([, r]) => !r.deleted);
    if (!live.length) return;
    const [id, rec] = pick(live);
    const res = await attempt(t.token, "DELETE", `/v1/collections/notes/records/${id}`, {
      headers: { "if-match": `"${rec.version}"` },
    });
    tally(t.id, "write", res !== null);
    if (!res) {
      log({ k: "maybe-rec", tenant: t.id, id, op: "delete" });
      return resolve(t, id);
    }
    if (res.status === 200) return ackRecord(t, res.json, "delete");
    if (res.status === 412 || res.status === 404) return resolve(t, id);
    log({ k: "odd", tenant: t.id, op: "delete", status: res.status });
  },
  async restore(t) {
    const gone = [...t.records].filter(([, r]) => r.deleted);
    if (!gone.length) return;
    const [id] = pick(gone);
    const res = await attempt(t.token, "POST", `/v1/collections/notes/records/${id}/restore`);
    tally(t.id, "write", res !== null);
    if (!res) {
      log({ k: "maybe-rec", tenant: t.id, id, op: "restore" });
      return resolve(t, id);
    }
    if (res.status === 200) return ackRecord(t, res.json, "restore");
    if (res.status === 409) return resolve(t, id);
    log({ k: "odd", tenant: t.id, op: "restore", status: res.status });
  },
  async putFile(t, path = `f${Math.floor(random() * 1e9)}.txt`) {
    const line = `soak file ${t.id} ${path} ${token(t)}\n`;
    const content = line.repeat(1 + Math.floor(random() * (t.small ? 40 : 80)));
    const sha256 = createHash("sha256").update(content).digest("hex");
    const res = await attempt(t.token, "PUT", `/v1/files/${path}`, {
      raw: content,
      headers: { "content-type": "text/plain", "x-checksum-sha256": sha256 },
    });
    tally(t.id, "write", res !== null);
    if (!res) {
      log({ k: "maybe-file", tenant: t.id, path });
      const head = await untilAnswered(t, "read", "HEAD", `/v1/files/${path}`);
      if (head.res?.status === 200) t.files.set(path, head.res.headers.get("etag"));
      else t.files.delete(path);
      return;
    }
    if (res.status === 201) {
      t.files.set(path, res.json.etag);
      return log({ k: "file", tenant: t.id, path, op: "put", etag: res.json.etag, size: res.json.size, sha256 });
    }
    if (res.json?.code === "quota_exceeded") return log({ k: "refused", tenant: t.id, what: "storage" });
    log({ k: "odd", tenant: t.id, op: "putFile", status: res.status, text: res.text.slice(0, 300) });
  },
  async overwriteFile(t) {
    if (!t.files.size) return ops.putFile(t);
    return ops.putFile(t, pick([...t.files.keys()]));
  },
  async deleteFile(t) {
    if (!t.files.size) return;
    const path = pick([...t.files.keys()]);
    const res = await attempt(t.token, "DELETE", `/v1/files/${path}`);
    tally(t.id, "write", res !== null);
    if (!res) {
      log({ k: "maybe-file", tenant: t.id, path });
      t.files.delete(path); // a HEAD would tell; a later put or delete of the path settles it anyway
      return;
    }
    if (res.status === 200 || res.status === 404) {
      t.files.delete(path);
      return log({ k: "file", tenant: t.id, path, op: "delete" });
    }
    log({ k: "odd", tenant: t.id, op: "deleteFile", status: res.status });
  },
  async member(t) {
    const sub = `m${1 + Math.floor(random() * 6)}`;
    const current = t.members.get(sub);
    let res;
    let op;
    let roles = null;
    if (!current) {
      op = "add";
      roles = ["viewer"];
      res = await attempt(t.token, "POST", "/v1/members", { body: { sub, roles } });
    } else if (random() < 0.5) {
      op = "update";
      roles = current[0] === "viewer" ? ["editor"] : ["viewer"];
      res = await attempt(t.token, "PATCH", `/v1/members/${sub}`, { body: { roles } });
    } else {
      op = "remove";
      res = await attempt(t.token, "DELETE", `/v1/members/${sub}`);
    }
    tally(t.id, "write", res !== null);
    if (!res) {
      t.members.delete(sub); // unknown now: the next change of this member settles it
      return log({ k: "maybe-member", tenant: t.id, sub, op });
    }
    if (res.status === 201 || res.status === 200) {
      if (op === "remove") t.members.delete(sub);
      else t.members.set(sub, roles);
      return log({ k: "member", tenant: t.id, sub, op, roles });
    }
    if (res.json?.code === "quota_exceeded") return log({ k: "refused", tenant: t.id, what: "members" });
    // 409 (already a member) or 404 (not one) after an unanswered change: learn and go on.
    if (res.status === 409) t.members.set(sub, ["viewer"]);
    else if (res.status === 404) t.members.delete(sub);
    else log({ k: "odd", tenant: t.id, op: `member.${op}`, status: res.status });
  },
  async read(t) {
    const ids = [...t.records.keys()];
    if (!ids.length) return;
    const id = pick(ids);
    const rec = t.records.get(id);
    await untilAnswered(t, "read", "GET", `/v1/collections/notes/records/${id}`, {
      headers: random() < 0.3 ? { "if-none-match": `"${rec.version}"` } : {},
    });
  },
  list: (t) => untilAnswered(t, "read", "GET", "/v1/collections/notes/records?limit=20&sort=-updatedAt"),
  search: (t) => untilAnswered(t, "read", "GET", `/v1/search?q=b${Math.floor(random() * 3)}&limit=10`),
  async history(t) {
    const ids = [...t.records.keys()];
    if (ids.length) await untilAnswered(t, "read", "GET", `/v1/collections/notes/records/${pick(ids)}/history`);
  },
  async headFile(t) {
    if (t.files.size) await untilAnswered(t, "read", "HEAD", `/v1/files/${pick([...t.files.keys()])}`);
  },
};
const MIX = Object.entries({
  create: 18,
  update: 24,
  remove: 5,
  restore: 4,
  batch: 14,
  putFile: 4,
  overwriteFile: 3,
  deleteFile: 2,
  member: 3,
  read: 10,
  list: 3,
  search: 4,
  history: 2,
  headFile: 2,
});
const TOTAL = MIX.reduce((a, [, w]) => a + w, 0);
function nextOp() {
  let r = random() * TOTAL;
  for (const [name, w] of MIX) {
    r -= w;
    if (r < 0) return name;
  }
  return "read";
}

// Tenants are provisioned before the first kill: the control plane's provisioning is not under test.
for (let i = 0; i < tenants.length; i += 8) await Promise.all(tenants.slice(i, i + 8).map(setup));
console.log(`LOAD ${tenants.length} tenants provisioned`);
const progress = setInterval(() => console.log(`PROGRESS ${lineSeq}`), 5000);
await Promise.all(
  tenants.map(async (t) => {
    while (Date.now() < DEADLINE) await ops[nextOp()](t);
  }),
);
clearInterval(progress);
await new Promise((r) => out.end(r));
writeFileSync(
  `${logFile}.stats.json`,
  JSON.stringify({
    outcomes,
    tenants: Object.fromEntries(tenants.map((t) => [t.id, { small: t.small, ...stats[t.id] }])),
    limits: LIMITS,
  }),
);
console.log(`DONE ${lineSeq} log lines`);
