// The soak's checker: reads every tenant back over the API (and the R2 keys under its prefix) and
// compares them with the workload's log of answered writes. Each invariant counts what it
// checked and what broke; the first few breaks are kept as examples.
import { readFileSync } from "node:fs";
import { checkTenant, READ_FLUSH_COUNTS, READ_FLUSH_MS } from "./tenant-checks.mjs";

export const INVARIANTS = {
  acknowledged: "every acknowledged write is there, exact version",
  recordsWhole: "record = its last version row, versions 1..n, no phantom version",
  auditMatches: "audit events = the changes they name (records, files, members)",
  searchMatches: "search hits = live records, no stale entry",
  filesMatch: "file catalogue = R2 objects (size, etag, bytes), both ways",
  oneEffect: "retried idempotent requests: exactly one effect",
  chain: "audit chain verifies",
  seqGapless: "audit seq gapless (no change log yet)",
  usageWrites: "usage: writes counted exactly",
  usageReads: `usage: reads within the window (${READ_FLUSH_MS / 1000} s or ${READ_FLUSH_COUNTS} counts)`,
  quotas: "quotas never overshot, gauges exact",
};

class Tally {
  constructor() {
    this.rows = Object.fromEntries(Object.keys(INVARIANTS).map((k) => [k, { checked: 0, broken: 0, examples: [] }]));
  }
  check(name, held, example) {
    const row = this.rows[name];
    row.checked++;
    if (!held) {
      row.broken++;
      if (row.examples.length < 5) row.examples.push(typeof example === "function" ? example() : example);
    }
    return held;
  }
}

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Reads the log: acknowledged writes and maybes per tenant, in log order. */
function readLog(logFile) {
  const byTenant = new Map();
  const of = (id) => {
    let t = byTenant.get(id);
    if (!t) {
      t = { recs: [], maybeRecs: [], idem: [], idemOpen: [], files: [], maybeFiles: [], members: [], maybeMembers: [] };
      byTenant.set(id, t);
    }
    return t;
  };
  let acknowledged = 0;
  let odd = 0;
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line);
    const t = of(e.tenant);
    if (e.k === "rec" || e.k === "file" || e.k === "member") acknowledged++;
    if (e.k === "rec") t.recs.push(e);
    else if (e.k === "maybe-rec") t.maybeRecs.push(e);
    else if (e.k === "idem") t.idem.push(e);
    else if (e.k === "idem-open") t.idemOpen.push(e);
    else if (e.k === "file") t.files.push(e);
    else if (e.k === "maybe-file") t.maybeFiles.push(e);
    else if (e.k === "member") t.members.push(e);
    else if (e.k === "maybe-member") t.maybeMembers.push(e);
    else if (e.k === "odd") odd++;
  }
  return { byTenant, acknowledged, odd };
}

/**
 * @param {{ base: string, admin: string, tokenOf: (tenant: string) => Promise<string>, logFile: string,
 *   stats: any, r2Keys: (tenant: string) => Promise<string[]>, stops: number[] }} opts
 *   stops: times (ms) at which the runtime died, losing what it held only in memory.
 */
export async function check({ base, admin, tokenOf, logFile, stats, r2Keys, stops }) {
  const tally = new Tally();
  const { byTenant, acknowledged, odd } = readLog(logFile);
  const tenants = Object.keys(stats.tenants);
  const get = async (token, path, method = "GET") => {
    for (let i = 0; ; i++) {
      try {
        const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        const body = method === "HEAD" ? null : await res.arrayBuffer();
        if (res.status >= 500 && i < 5) continue;
        const text = body ? new TextDecoder().decode(body) : "";
        return {
          status: res.status,
          headers: res.headers,
          body,
          json: text && /json/.test(res.headers.get("content-type") ?? "") ? JSON.parse(text) : null,
        };
      } catch (err) {
        if (i >= 5) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const all = async (token, path) => {
    const items = [];
    let cursor = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const res = await get(token, `${path}${cursor ? `${sep}cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`);
      items.push(...res.json.items);
      cursor = res.json.nextCursor;
    } while (cursor);
    return items;
  };

  // Usage first, before the checker's own reads count.
  const usage = {};
  for (const id of tenants) usage[id] = (await get(admin, `/v1/tenants/${id}/usage`)).json;

  const reads = { answered: 0, counted: 0, lost: 0, maxLostPerTenant: 0, windowSeconds: [] };
  let recovered = 0;
  await pool(tenants, 4, async (id) => {
    const st = stats.tenants[id];
    recovered += await checkTenant({
      id,
      token: await tokenOf(id),
      log: byTenant.get(id),
      st,
      limits: st.small ? stats.limits.small : stats.limits.large,
      u: usage[id].current,
      stops,
      tally,
      get,
      all,
      reads,
      r2Keys,
      where: (what) => `${id}: ${what}`,
    });
  });

  const rows = tally.rows;
  const lost = rows.acknowledged.broken;
  const torn = rows.recordsWhole.broken + rows.auditMatches.broken + rows.searchMatches.broken + rows.filesMatch.broken;
  return {
    rows,
    acknowledged,
    odd,
    lost,
    torn,
    chainsBroken: rows.chain.broken,
    broken: Object.values(rows).reduce((a, r) => a + r.broken, 0),
    reads,
    recovered,
  };
}

/** The invariant table, one row each: checked, held, broken, and a few examples of breaks. */
export function table(result) {
  const lines = [`${"invariant".padEnd(70)} ${"checked".padStart(8)} ${"held".padStart(8)} ${"broken".padStart(7)}`];
  for (const [name, r] of Object.entries(result.rows)) {
    lines.push(
      `${INVARIANTS[name].padEnd(70)} ${String(r.checked).padStart(8)} ${String(r.checked - r.broken).padStart(8)} ${String(r.broken).padStart(7)}`,
    );
    for (const ex of r.examples) lines.push(`    ! ${ex}`);
  }
  return lines.join("\n");
}
