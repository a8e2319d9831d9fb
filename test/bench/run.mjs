#!/usr/bin/env node
// npm run bench: the cost of tenancy and how Silo scales with the number of tenants, measured
// side by side in one run on the Workers runtime (Miniflare 4's own server, no wrangler dev
// proxy), loaded by wrk in a separate process.
//
//   npm run bench -- [--duration 6] [--warmup 2] [--connections 32] [--threads 1] [--repeats 3]
//                    [--tenants 1,100,1000,10000] [--sweep 1000]
//
// Prints a table, the headline ratios as its last lines, and writes test/bench/results/latest.json,
// test/bench/results/scaling.svg and the results block of test/bench/BENCHMARKS.md.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { scalingChart } from "./chart.mjs";
import { heapAfterGc, startProfile } from "./profile.mjs";
import { buildBundles, machine, openFileLimit, rssMiB, startComparators, startSilo } from "./servers.mjs";
import { tokenSigner } from "./tokens.mjs";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
    repeats: { type: "string", default: "3" },
    tenants: { type: "string", default: "1,100,1000,10000" },
    sweep: { type: "string", default: "1000" },
    only: { type: "string" },
    profile: { type: "string" },
    idle: { type: "string", default: "0" },
  },
});
const DURATION = Number(values.duration);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const THREADS = Number(values.threads);
const REPEATS = Number(values.repeats);
const LEVELS = values.tenants.split(",").map(Number);
const MAX_TENANTS = Math.max(...LEVELS);
const SWEEP_TENANTS = Math.min(Number(values.sweep), MAX_TENANTS);
// The spread baseline (one bare object per tenant) at the largest level whose objects all fit in
// the open-file limit: bare objects start faster than Silo's, and at 10,000 here they ran the
// runtime out of open files (EMFILE) instead of being evicted in time.
const SPREAD_TENANTS = Math.max(...LEVELS.filter((n) => n <= 1000 || openFileLimit() >= 4 * n + 1000));
const OUT = "test/bench/results";
const profiled = (name) => Boolean(values.profile?.split(",").includes(name));
// The Worker's inspector, used to read its heap after a garbage collection (and for --profile).
const INSPECTOR = Number(process.env.BENCH_INSPECTOR_PORT ?? 9229);
process.env.BENCH_INSPECTOR_PORT = String(INSPECTOR);
const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

// --- the load generator --------------------------------------------------------------------

function ensureWrk() {
  if (spawnSync("wrk", ["--version"]).error === undefined) return;
  log("wrk is missing; installing Debian's wrk package");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const apt = (args) =>
    spawnSync(sudo[0] ?? "apt-get", [...(sudo.length ? ["apt-get"] : []), ...args], { stdio: "inherit" });
  if (apt(["install", "-y", "-q", "wrk"]).status !== 0) apt(["update", "-q"]);
  if (spawnSync("wrk", ["--version"]).error !== undefined) apt(["install", "-y", "-q", "wrk"]);
  if (spawnSync("wrk", ["--version"]).error !== undefined) throw new Error("wrk is required: apt-get install wrk");
}

// Where the runtime keeps the tenants' SQLite files (Miniflare's "in-memory" mode writes them to
// a temporary folder, not to memory): tmpfs when the machine has one. On this disk, creating a
// tenant's three database files was half of provisioning's CPU time, in the kernel's inode
// allocator, a cost the platform's storage does not have. BENCH_PERSIST=disk keeps the disk.
const STORAGE_DIR = process.env.BENCH_PERSIST !== "disk" && existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
process.env.TMPDIR = STORAGE_DIR;
// Cores for the runtimes and for wrk.
const PIN =
  process.env.BENCH_PIN !== "0" && availableParallelism() >= 2 && spawnSync("taskset", ["-V"]).error === undefined
    ? { runtime: "1", load: "0" }
    : null;
const TARGETS_DIR = mkdtempSync(join(tmpdir(), "silo-bench-targets-"));

/** Runs wrk against base for `seconds` with the given target lines; returns its figures. */
function wrk(base, lines, seconds) {
  const file = join(TARGETS_DIR, `t-${randomBytes(4).toString("hex")}.txt`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return new Promise((resolve, reject) => {
    const args = [
      `-t${THREADS}`,
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      "--timeout",
      "10s",
      "-s",
      "test/bench/load.lua",
      base,
    ];
    const child = spawn(PIN ? "taskset" : "wrk", PIN ? ["-c", PIN.load, "wrk", ...args] : args, {
      env: { ...process.env, WRK_TARGETS: file },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", () => {
      rmSync(file, { force: true });
      const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
      if (!line) return reject(new Error(`wrk printed no result:\n${out}`));
      const r = JSON.parse(line.slice(8));
      const seconds = r.durationUs / 1e6;
      resolve({
        rps: r.requests / seconds,
        p50Ms: r.p50Us / 1000,
        p99Ms: r.p99Us / 1000,
        requests: r.requests,
        errors: r.non2xx + r.socketErrors,
        // What the errors were: non-2xx answers by status, and connections that failed or timed out.
        errorKinds: { ...r.statuses, ...(r.socketErrors ? { socket: r.socketErrors } : {}) },
      });
    });
    child.on("error", reject);
  });
}

// --- HTTP helpers for setup ------------------------------------------------------------------

async function api(base, token, method, path, body) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      // A keep-alive connection the server closed under load: safe to retry reads and creates
      // (a create that did land answers 409 on the retry, handled below).
      if (attempt < 5) continue;
      throw err;
    }
    if (res.ok) return res.json();
    const text = await res.text();
    if (res.status === 503 && attempt < 5) continue;
    if (res.status === 409 && attempt > 0 && method === "POST" && path === "/v1/tenants") return body;
    throw new Error(`${method} ${path}: ${res.status} ${text}`);
  }
}

async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** CPU seconds a process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until a server process is idle (under 5% of a core over half a second, at most 90 s),
 * so a scenario is not charged for the deferred work of the one before. Returns the seconds waited.
 */
async function settle(pid) {
  const t0 = Date.now();
  let last = cpuSeconds(pid);
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuSeconds(pid);
    if (now - last < 0.025 || Date.now() - t0 > 90_000) return (Date.now() - t0) / 1000;
    last = now;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs) => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });

// --- the run ---------------------------------------------------------------------------------

ensureWrk();
// Resident objects each hold a few open files; without the room, let workerd evict them.
if (openFileLimit() < 4 * MAX_TENANTS + 1000 && !process.env.BENCH_EVICTION) {
  process.env.BENCH_EVICTION = "1";
  log(
    `open-file limit ${openFileLimit()} is too low to keep ${MAX_TENANTS} objects resident: workerd's eviction stays on`,
  );
}
log("building the Worker (wrangler) and the comparators (esbuild)");
await buildBundles();
const persistDir = mkdtempSync(join(STORAGE_DIR, "silo-bench-"));
const vars = {
  AUTH_HS256_SECRET: randomBytes(32).toString("base64url"),
  AUTH_ISSUER: "silo-bench",
  AUTH_AUDIENCE: "silo",
  MASTER_KEY: randomBytes(32).toString("base64"),
};
const sign = tokenSigner(vars, "2h");

const silo = await startSilo({ vars, persistDir });
const comparators = await startComparators({ vars, persistDir });
log(`Silo on ${silo.base} (workerd pid ${silo.pid}), comparators on ${comparators.base}`);
if (PIN) {
  // Every thread of both runtimes on one core, wrk on the other (BENCH_PIN=0: the scheduler decides).
  for (const pid of [silo.pid, comparators.pid]) spawnSync("taskset", ["-a", "-pc", PIN.runtime, String(pid)]);
  log(`pinned: runtimes on CPU ${PIN.runtime}, wrk on CPU ${PIN.load}`);
}
const report = {
  machine: machine(),
  date: new Date().toISOString(),
  settings: {
    duration: DURATION,
    warmup: WARMUP,
    connections: CONNECTIONS,
    threads: THREADS,
    repeats: REPEATS,
    objectsResident: !process.env.BENCH_EVICTION,
    objectStorage: STORAGE_DIR === "/dev/shm" ? "tmpfs (/dev/shm)" : `files under ${STORAGE_DIR}`,
  },
  memory: { startMiB: rssMiB(silo.pid) },
};

try {
  const admin = await sign({ scope: "platform:admin" }, "bench-admin");
  const { items: plans } = await api(silo.base, admin, "GET", "/v1/plans");
  const enterprise = plans.find((p) => p.tier === "enterprise");
  const huge = 1_000_000_000;
  // Benchmarks measure the path, not the limiter: a plan whose limits are never reached.
  await api(silo.base, admin, "PUT", "/v1/plans/bench", {
    name: "Benchmark",
    prices: enterprise.prices,
    limits: {
      ...enterprise.limits,
      requestsPerSecond: huge,
      burst: huge,
      maxRequestsPerMonth: huge,
      maxRecords: huge,
    },
  });

  const tenants = Array.from({ length: MAX_TENANTS }, (_, i) => ({ id: `bench-${String(i).padStart(5, "0")}` }));
  await pool(tenants, 64, async (t) => {
    t.token = await sign({ tenant_id: t.id }, "owner");
  });

  /** Creates tenants[from, to) through the admin API, then a collection and a record in each. */
  async function provision(from, to) {
    const slice = tenants.slice(from, to);
    const stop = from === 0 && profiled("provisioning") ? await startProfile(INSPECTOR) : null;
    const t0 = Date.now();
    const cpu0 = cpuSeconds(silo.pid);
    await pool(slice, 16, (t) =>
      api(silo.base, admin, "POST", "/v1/tenants", { id: t.id, name: t.id, tier: "bench", owner: { sub: "owner" } }),
    );
    const seconds = (Date.now() - t0) / 1000;
    const cpuMsPerTenant = ((cpuSeconds(silo.pid) - cpu0) * 1000) / slice.length;
    if (stop) console.log(await stop(`${OUT}/provisioning`));
    await pool(slice, 16, async (t) => {
      await api(silo.base, t.token, "POST", "/v1/collections", {
        name: "notes",
        fields: [
          { name: "title", type: "string", required: true },
          { name: "body", type: "text" },
        ],
      });
      const rec = await api(silo.base, t.token, "POST", "/v1/collections/notes/records", {
        title: `note of ${t.id}`,
        body: "The quick brown fox jumps over the lazy dog.",
      });
      t.record = rec.id;
    });
    return { tenants: slice.length, seconds, perSecond: slice.length / seconds, cpuMsPerTenant };
  }

  log(`provisioning ${SWEEP_TENANTS} tenants`);
  const first = await provision(0, SWEEP_TENANTS);
  log(`  ${first.perSecond.toFixed(0)} tenants/s, runtime CPU ${first.cpuMsPerTenant.toFixed(1)} ms per tenant`);

  log(`retention sweep over ${SWEEP_TENANTS} tenants`);
  const sweepStart = Date.now();
  const run = await api(silo.base, admin, "POST", "/v1/sweeps", { kind: "retention" });
  let sweep = run;
  let invocations = 0;
  while (sweep.status !== "completed" && sweep.status !== "failed") {
    // The per-minute continuation cron, invoked back to back instead of once a minute.
    await fetch(`${silo.entry}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`);
    invocations++;
    sweep = await api(silo.base, admin, "GET", `/v1/sweeps/${run.id}`);
  }
  report.sweep = {
    tenants: sweep.tenants,
    failures: sweep.failures,
    status: sweep.status,
    seconds: (Date.now() - sweepStart) / 1000,
    cronInvocations: invocations,
  };
  log(`  ${report.sweep.tenants} tenants in ${report.sweep.seconds.toFixed(1)} s (${invocations} cron invocations)`);

  if (MAX_TENANTS > SWEEP_TENANTS) {
    log(`provisioning ${MAX_TENANTS - SWEEP_TENANTS} more tenants`);
    const second = await provision(SWEEP_TENANTS, MAX_TENANTS);
    log(`  ${second.perSecond.toFixed(0)} tenants/s`);
    const total = first.seconds + second.seconds;
    report.provisioning = {
      tenants: MAX_TENANTS,
      seconds: total,
      perSecond: MAX_TENANTS / total,
      cpuMsPerTenant: (first.cpuMsPerTenant * first.tenants + second.cpuMsPerTenant * second.tenants) / MAX_TENANTS,
    };
  } else {
    report.provisioning = first;
  }

  log("seeding the comparators");
  // The baseline's token has the same shape as a tenant user's; the baseline ignores the tenant.
  const single = await sign({ tenant_id: "single" }, "single-user");
  await api(comparators.base, single, "POST", "/seed", [
    {
      id: tenants[0].record,
      data: { title: "note of the only tenant", body: "The quick brown fox jumps over the lazy dog." },
    },
  ]);
  // Every tenant's record into the shared table, then the spread baseline's into each tenant's
  // own object, 1,000 rows a request.
  const note = (t) => ({
    id: t.record,
    data: { title: `note of ${t.id}`, body: "The quick brown fox jumps over the lazy dog." },
  });
  const rows = [
    ...tenants.map((t) => ({ tenant: t.id, ...note(t) })),
    ...tenants.slice(0, SPREAD_TENANTS).map((t) => ({ object: t.id, ...note(t) })),
  ];
  for (let i = 0; i < rows.length; i += 1000) {
    await api(comparators.base, single, "POST", "/seed", rows.slice(i, i + 1000));
  }

  const read = (t) => `GET /v1/collections/notes/records/${t.record} ${t.token}`;
  const scenarios = [
    { name: "healthz", base: silo.base, lines: ["GET /healthz -"] },
    { name: "ladder-auth", base: comparators.base, lines: [`GET /ladder/auth ${single}`] },
    { name: "ladder-rpc", base: comparators.base, lines: [`GET /ladder/rpc ${single}`] },
    {
      name: "baseline",
      base: comparators.base,
      lines: [`GET /v1/collections/notes/records/${tenants[0].record} ${single}`],
    },
    ...LEVELS.map((n) => ({
      name: `silo-read-${n}`,
      base: silo.base,
      lines: tenants.slice(0, n).map(read),
      tenants: n,
      targets: tenants.slice(0, n),
    })),
    {
      name: "silo-write",
      base: silo.base,
      lines: [`POST /v1/collections/notes/records ${tenants[0].token} {"title":"written","body":"a benchmark write"}`],
    },
    {
      name: `spread-${SPREAD_TENANTS}`,
      base: comparators.base,
      lines: tenants
        .slice(0, SPREAD_TENANTS)
        .map((t) => `GET /spread/collections/notes/records/${t.record} ${t.token}`),
    },
    {
      name: `shared-${MAX_TENANTS}`,
      base: comparators.base,
      lines: tenants.map((t) => `GET /shared/collections/notes/records/${t.record} ${t.token}`),
    },
  ];
  if (values.only) {
    const keep = new Set(values.only.split(","));
    scenarios.splice(0, scenarios.length, ...scenarios.filter((s) => keep.has(s.name)));
  }
  const results = Object.fromEntries(scenarios.map((s) => [s.name, []]));
  const memory = {};
  for (let r = 1; r <= REPEATS; r++) {
    log(`repeat ${r} of ${REPEATS}`);
    for (const s of scenarios) {
      // --idle: let the tenants' objects go idle (and be evicted) first, to measure cold reads.
      if (Number(values.idle) > 0) await new Promise((r) => setTimeout(r, Number(values.idle) * 1000));
      const onSilo = s.base === silo.base;
      const pid = onSilo ? silo.pid : comparators.pid;
      s.settle = [...(s.settle ?? []), await settle(pid)];
      // With workerd's eviction on (not enough open files to keep them all), a pass over more
      // objects than start in its 10 s idle window cannot warm them: skip it.
      const warmable = !process.env.BENCH_EVICTION || (s.tenants ?? 0) <= 1000;
      if (s.tenants && warmable && !(Number(values.idle) > 0)) {
        // Every tenant's object started before measuring: the scenario is the steady state.
        const t0 = Date.now();
        await pool(s.targets, 32, (t) => api(silo.base, t.token, "GET", `/v1/collections/notes/records/${t.record}`));
        const touch = s.targets.length / ((Date.now() - t0) / 1000);
        s.touch = [...(s.touch ?? []), touch];
        log(`  ${s.name}: first touch of ${s.targets.length} tenants at ${touch.toFixed(0)}/s`);
      }
      if (WARMUP > 0) await wrk(s.base, s.lines, WARMUP);
      const stop = profiled(s.name) ? await startProfile(onSilo ? INSPECTOR : INSPECTOR + 1) : null;
      const cpu0 = cpuSeconds(pid);
      const m = await wrk(s.base, s.lines, DURATION);
      // The runtime's CPU per request: steadier than req/s when wrk and workerd share 2 cores.
      m.cpuUsPerRequest = ((cpuSeconds(pid) - cpu0) * 1e6) / m.requests;
      if (stop) console.log(await stop(`${OUT}/${s.name}`));
      results[s.name].push(m);
      if (s.tenants) {
        const heap = process.env.BENCH_NO_HEAP ? 0 : await heapAfterGc(INSPECTOR, silo.base);
        memory[s.tenants] = [...(memory[s.tenants] ?? []), { rss: rssMiB(silo.pid), heap }];
        log(`  heap after GC ${heap.toFixed(1)} MiB, RSS ${rssMiB(silo.pid).toFixed(0)} MiB`);
      }
      log(
        `  ${s.name.padEnd(18)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  errors ${m.errors}${m.errors ? ` ${JSON.stringify(m.errorKinds)}` : ""}  cpu ${m.cpuUsPerRequest.toFixed(0)} µs/req`,
      );
    }
  }
  // --only runs a subset for investigation; the report needs every scenario.
  if (!values.only) {
    report.memory.levels = Object.fromEntries(
      Object.entries(memory).map(([n, xs]) => [
        n,
        { heapMiB: median(xs.map((x) => x.heap)), rssMiB: Math.max(...xs.map((x) => x.rss)) },
      ]),
    );
    // Per warm object: the isolate's heap between the smallest level and the largest whose objects
    // all stayed resident (with workerd's eviction on, 10,000 do not). Not from RSS: the process
    // keeps what provisioning 10,000 objects took, and the databases' mapped files count in it.
    const lo = Math.min(...LEVELS);
    const hi = Math.max(...LEVELS.filter((n) => !process.env.BENCH_EVICTION || n <= 1000));
    const level = (n) => report.memory.levels[n];
    report.memory.perWarmTenant =
      hi > lo
        ? {
            between: [lo, hi],
            heapKiB: ((level(hi).heapMiB - level(lo).heapMiB) * 1024) / (hi - lo),
          }
        : null;

    const byName = Object.fromEntries(scenarios.map((s) => [s.name, s]));
    report.scenarios = Object.fromEntries(
      Object.entries(results).map(([name, runs]) => [
        name,
        {
          rps: spread(runs.map((m) => m.rps)),
          p50Ms: median(runs.map((m) => m.p50Ms)),
          p99Ms: median(runs.map((m) => m.p99Ms)),
          cpuUsPerRequest: median(runs.map((m) => m.cpuUsPerRequest)),
          errors: runs.reduce((a, m) => a + m.errors, 0),
          errorKinds: runs.reduce((a, m) => {
            for (const [k, n] of Object.entries(m.errorKinds)) a[k] = (a[k] ?? 0) + n;
            return a;
          }, {}),
          requests: runs.reduce((a, m) => a + m.requests, 0),
          settleSeconds: byName[name].settle,
          firstTouchPerSecond: byName[name].touch ? median(byName[name].touch) : undefined,
          runs,
        },
      ]),
    );
    // Ratios are taken within each repeat (side by side), then summarised.
    const per = (a, b) => results[a].map((m, i) => m.rps / results[b][i].rps);
    const low = Math.min(...LEVELS.filter((n) => n >= 100));
    report.ratios = {
      tenancy_overhead: spread(per("silo-read-1", "baseline")),
      [`scale_${MAX_TENANTS / 1000}k_vs_${low}`]: spread(per(`silo-read-${MAX_TENANTS}`, `silo-read-${low}`)),
      ceiling_fraction: spread(per("silo-read-1", "healthz")),
      vs_shared_table: spread(per(`silo-read-${MAX_TENANTS}`, `shared-${MAX_TENANTS}`)),
    };
    // Not targets: what tells Silo's own cost from the runtime's.
    const cpu = (a, b) => results[a].map((m, i) => results[b][i].cpuUsPerRequest / m.cpuUsPerRequest);
    report.diagnostics = {
      // Runtime CPU per request, baseline's over Silo's: tenancy overhead without wrk's share of the cores.
      tenancy_overhead_cpu: spread(cpu("silo-read-1", "baseline")),
      // Silo over N tenants against the same read with one bare object per tenant.
      [`vs_spread_${SPREAD_TENANTS}`]: spread(per(`silo-read-${SPREAD_TENANTS}`, `spread-${SPREAD_TENANTS}`)),
    };
    report.seconds = (Date.now() - started) / 1000;

    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(OUT, "scaling.svg"), scalingChart(report, LEVELS));
    const table = markdown(report);
    updateBenchmarksMd(table);
    console.log(`\n${table}`);
    console.log(`Wrote ${OUT}/latest.json, ${OUT}/scaling.svg and the results in test/bench/BENCHMARKS.md.\n`);
    for (const [k, v] of Object.entries(report.diagnostics)) console.log(`(diagnostic) ${k}=${v.median.toFixed(3)}`);
    for (const [k, v] of Object.entries(report.ratios)) console.log(`${k}=${v.median.toFixed(3)}`);
  }
} finally {
  await silo.mf.dispose().catch(() => {});
  await comparators.mf.dispose().catch(() => {});
  rmSync(persistDir, { recursive: true, force: true });
  rmSync(TARGETS_DIR, { recursive: true, force: true });
}

function markdown(r) {
  const m = r.machine;
  const rows = Object.entries(r.scenarios).map(
    ([name, s]) =>
      `| ${name} | ${s.rps.median.toFixed(0)} | ${s.rps.min.toFixed(0)} – ${s.rps.max.toFixed(0)} | ${s.p50Ms.toFixed(2)} | ${s.p99Ms.toFixed(2)} | ${s.errors}${
        s.errors
          ? ` (${Object.entries(s.errorKinds)
              .map(([k, n]) => `${k}: ${n}`)
              .join(", ")})`
          : ""
      } | ${s.cpuUsPerRequest.toFixed(0)} |`,
  );
  const ratios = [
    ...Object.entries(r.ratios),
    ...Object.entries(r.diagnostics).map(([k, v]) => [`${k} (diagnostic)`, v]),
  ].map(([k, v]) => `| ${k} | ${v.median.toFixed(3)} | ${v.min.toFixed(3)} – ${v.max.toFixed(3)} |`);
  const mem = Object.entries(r.memory.levels)
    .map(([n, v]) => `${n} tenants: heap ${v.heapMiB.toFixed(1)} MiB, RSS ${v.rssMiB.toFixed(0)} MiB`)
    .join("; ");
  return [
    `Run of ${r.date.slice(0, 16).replace("T", " ")} UTC on ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.kernel}, Node ${m.node}.`,
    `Storage (tenant objects' SQLite, D1, R2): ${r.settings.objectStorage}; tenant objects ${r.settings.objectsResident ? "kept resident" : "workerd's 10 s idle eviction on (open-file limit too low to keep every object resident)"}.`,
    `wrk: ${r.settings.threads} thread(s), ${r.settings.connections} connections, ${r.settings.warmup} s warm-up + ${r.settings.duration} s per scenario, ${r.settings.repeats} repeats (min – max shows the noise). Whole run: ${r.seconds.toFixed(0)} s.`,
    "",
    "| scenario | req/s (median) | req/s (min – max) | p50 ms | p99 ms | errors | runtime CPU µs/req |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    "| ratio | median | min – max |",
    "| --- | ---: | ---: |",
    ...ratios,
    "",
    `Provisioning: ${r.provisioning.tenants} tenants in ${r.provisioning.seconds.toFixed(1)} s = ${r.provisioning.perSecond.toFixed(0)} tenants/s through POST /v1/tenants (16 in flight; runtime CPU ${r.provisioning.cpuMsPerTenant.toFixed(1)} ms per tenant).`,
    `Retention sweep: ${r.sweep.tenants} tenants in ${r.sweep.seconds.toFixed(1)} s (${r.sweep.cronInvocations} cron invocations back to back, ${r.sweep.failures} failures).`,
    `Memory after each scale scenario (the Worker isolate's heap after a full GC, median over repeats; the runtime process's RSS, max): at start RSS ${r.memory.startMiB.toFixed(0)} MiB; ${mem}. ${
      r.memory.perWarmTenant
        ? ` Per warm tenant object (from ${r.memory.perWarmTenant.between.join(" to ")} tenants): heap ≈ ${r.memory.perWarmTenant.heapKiB.toFixed(1)} KiB of JavaScript heap.`
        : ""
    }`,
    "",
  ].join("\n");
}

function updateBenchmarksMd(table) {
  const file = "test/bench/BENCHMARKS.md";
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return;
  }
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < 0) return;
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${table}\n${text.slice(b)}`);
}
