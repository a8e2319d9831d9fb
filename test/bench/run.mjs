#!/usr/bin/env node
// npm run bench: what Silo's layers cost against a bare database per tenant, at each tenant
// count, warm and cold, for reads and writes, with tails at a fixed rate; measured side by side in
// one run on the Workers runtime (Miniflare 4's own server, no wrangler dev proxy), loaded by wrk
// (closed loop) and a Node client (one pass, fixed rate) in a separate process.
//
//   npm run bench -- [--duration 3] [--warmup 1] [--connections 32] [--threads 1] [--repeats 3]
//                    [--tenants 1,100,1000,resident] [--resident <n>] [--cold 1000] [--sweep 1000]
//                    [--only a,b] [--profile a,b] [--shared]
//
// Prints a table, the headline ratios as its last lines, and writes test/bench/results/latest.json,
// test/bench/results/scaling.svg and the results block of test/bench/BENCHMARKS.md.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { scalingChart } from "./chart.mjs";
import { onePass } from "./client.mjs";
import { gcLog, gcTraceAvailable } from "./gc-trace.mjs";
import { heapAfterGc, layerBudget, startProfile } from "./profile.mjs";
import { buildBundles, machine, openFileLimit, openFiles, rssMiB, startComparators, startSilo } from "./servers.mjs";
import { tokenSigner } from "./tokens.mjs";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: "1" },
    repeats: { type: "string", default: "3" },
    tenants: { type: "string", default: "1,100,1000,resident" },
    resident: { type: "string" },
    cold: { type: "string", default: "1000" },
    sweep: { type: "string", default: "1000" },
    only: { type: "string" },
    profile: { type: "string" },
    shared: { type: "boolean", default: false },
    report: { type: "boolean", default: false },
    // Whether to write the results block of BENCHMARKS.md: by default only a run with no options.
    md: { type: "boolean" },
  },
});
const WRITE_MD = values.md ?? process.argv.length <= 2;
const DURATION = Number(values.duration);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const THREADS = Number(values.threads);
const REPEATS = Number(values.repeats);
// Each resident SQLite-backed object holds its database, -wal and -shm files open (workerd's
// /proc/<pid>/fd: 3.25 per object over the first 100 tenants, D1's and R2's files included);
// room is kept for the runtime's own files and every client's sockets. Past the limit workerd
// fails to open databases (SQLITE_CANTOPEN) or dies (accept: Too many open files).
const FILES_PER_OBJECT = 3;
const FILE_HEADROOM = 2500;
/** The largest tenant count (a multiple of 500, at most 10,000) whose objects all fit the open-file limit. */
const residentLevel = () =>
  Math.min(10_000, Math.floor((openFileLimit() - FILE_HEADROOM) / FILES_PER_OBJECT / 500) * 500);
const RESIDENT = values.resident ? Number(values.resident) : residentLevel();
const LEVELS = [
  ...new Set(
    values.tenants
      .split(",")
      .map((x) => (x === "resident" ? RESIDENT : Number(x)))
      .filter((n) => n > 0),
  ),
].sort((a, b) => a - b);
const MAX_TENANTS = Math.max(...LEVELS);
const SWEEP_TENANTS = Math.min(Number(values.sweep), MAX_TENANTS);
// The level of the headline ratios (vs_bare, the fixed-rate tails): 1,000 tenants, or the
// largest level under it in a smaller run.
const MID = LEVELS.includes(1000) ? 1000 : Math.max(...LEVELS.filter((n) => n <= 1000));
// The low end of scale_resident: 100 tenants (the smallest level of at least 100).
const LOW = Math.min(...LEVELS.filter((n) => n >= 100), MID);
const TOP = Math.max(...LEVELS.filter((n) => n <= RESIDENT));
const COLD = Math.min(Number(values.cold), MAX_TENANTS);
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

/**
 * Runs a load generator on the load core with the target lines in a file (`withFile` gives its
 * arguments and environment for that file); resolves with the JSON its `marker` line carries.
 */
function onLoadCore(command, withFile, lines, marker) {
  const file = join(TARGETS_DIR, `t-${randomBytes(4).toString("hex")}.txt`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  const { args, env } = withFile(file);
  return new Promise((resolve, reject) => {
    const child = spawn(PIN ? "taskset" : command, PIN ? ["-c", PIN.load, command, ...args] : args, {
      env: { ...process.env, ...env },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", () => {
      rmSync(file, { force: true });
      const line = out.split("\n").find((l) => l.startsWith(`${marker} `));
      if (!line) return reject(new Error(`${command} printed no result:\n${out}`));
      resolve(JSON.parse(line.slice(marker.length + 1)));
    });
    child.on("error", reject);
  });
}

/** Runs wrk against base for `seconds` with the given target lines; returns its figures. */
async function wrk(base, lines, seconds) {
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
  const r = await onLoadCore("wrk", (file) => ({ args, env: { WRK_TARGETS: file } }), lines, "WRKJSON");
  const measured = r.durationUs / 1e6;
  return {
    rps: r.requests / measured,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    p999Ms: r.p999Us / 1000,
    requests: r.requests,
    errors: r.non2xx + r.socketErrors,
    // What the errors were: non-2xx answers by status, and connections that failed or timed out.
    errorKinds: { ...r.statuses, ...(r.socketErrors ? { socket: r.socketErrors } : {}) },
  };
}

/** fixedRate in its own Node process (fixed-client.mjs), pinned like wrk to the load core. */
function fixedClient(base, lines, rate, seconds, connections, warmup) {
  const args = (file) => ["test/bench/fixed-client.mjs", base, file, rate, seconds, connections, warmup].map(String);
  return onLoadCore(process.execPath, (file) => ({ args: args(file), env: {} }), lines, "FIXEDJSON");
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

/** CPU seconds by thread name (V8's GC workers apart from the isolate's thread), for BENCH_THREADS=1. */
function threadCpu(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {}
  }
  return out;
}

/** CPU seconds a process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// Silo's read counts wait for an alarm a minute later (FLUSH_DELAY_MS, usage/usage-meter.ts),
// plus a margin for the alarms' own work; when Silo's last reads of many tenants ended.
const DEFERRED_FLUSH_MS = 60_000 + 3_000;
let lastSiloReads = 0;

/**
 * Both runtimes idle: they share the pinned core, and one's deferred work (Silo's after a run of
 * writes took up to 1.5 s of CPU) must not land in the other's window. Seconds waited.
 */
async function settleBoth() {
  return Math.max(...(await Promise.all([settle(silo.pid), settle(comparators.pid)])));
}

/**
 * Waits until a server process is idle (under 5% of a core over 150 ms, at most 90 s),
 * so a scenario is not charged for the deferred work of the one before. Returns the seconds waited.
 */
async function settle(pid) {
  const t0 = Date.now();
  let last = cpuSeconds(pid);
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    const now = cpuSeconds(pid);
    if (now - last < 0.0075 || Date.now() - t0 > 90_000) return (Date.now() - t0) / 1000;
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

// --report: the results block of BENCHMARKS.md written again from results/latest.json (the last
// run's figures), without measuring anything.
if (values.report) {
  const table = markdown(JSON.parse(readFileSync(join(OUT, "latest.json"), "utf8")));
  updateBenchmarksMd(table);
  console.log(table);
  process.exit(0);
}

ensureWrk();
// Resident objects each hold a few open files; without the room, let workerd evict them.
if (openFileLimit() < FILES_PER_OBJECT * MAX_TENANTS + FILE_HEADROOM && !process.env.BENCH_EVICTION) {
  process.env.BENCH_EVICTION = "1";
  log(
    `open-file limit ${openFileLimit()} is too low to keep ${MAX_TENANTS} objects resident (largest resident level ${RESIDENT}): workerd's eviction stays on`,
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

// Both runtimes keep their objects' SQLite in the persist folder (on tmpfs), so a restart finds
// them: the cold scenarios read every tenant once from a runtime started again on that folder.
let silo;
let comparators;
async function startRuntimes() {
  // Each runtime with its own log of V8's collections (gc-trace.mjs), read by the fixed-rate scenarios.
  const siloGc = gcLog();
  const comparatorsGc = gcLog();
  silo = { ...(await startSilo({ vars, persistDir, objectsOnDisk: true, gc: siloGc })), gc: siloGc };
  comparators = {
    ...(await startComparators({ vars, persistDir, objectsOnDisk: true, gc: comparatorsGc })),
    gc: comparatorsGc,
  };
  if (PIN) {
    // Every thread of both runtimes on one core, wrk and this process (the Node client) on the
    // other (BENCH_PIN=0: the scheduler decides).
    for (const pid of [silo.pid, comparators.pid]) spawnSync("taskset", ["-a", "-pc", PIN.runtime, String(pid)]);
    spawnSync("taskset", ["-a", "-pc", PIN.load, String(process.pid)]);
  }
}
await startRuntimes();
const server = (name) => (name === "silo" ? silo : comparators);
log(`Silo on ${silo.base} (workerd pid ${silo.pid}), comparators on ${comparators.base}`);
if (PIN) log(`pinned: runtimes on CPU ${PIN.runtime}, wrk and the Node client on CPU ${PIN.load}`);
const report = {
  machine: machine(),
  date: new Date().toISOString(),
  settings: {
    duration: DURATION,
    warmup: WARMUP,
    connections: CONNECTIONS,
    threads: THREADS,
    repeats: REPEATS,
    levels: LEVELS,
    residentLevel: RESIDENT,
    openFileLimit: openFileLimit(),
    cold: COLD,
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
    if (stop) console.log((await stop(`${OUT}/provisioning`)).text);
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

  const files0 = openFiles(silo.pid);
  log(`provisioning ${SWEEP_TENANTS} tenants`);
  const first = await provision(0, SWEEP_TENANTS);
  // Files per resident object, as counted: what the largest resident level is computed from.
  const filesPerObject = (openFiles(silo.pid) - files0) / SWEEP_TENANTS;
  log(
    `  ${first.perSecond.toFixed(0)} tenants/s, runtime CPU ${first.cpuMsPerTenant.toFixed(1)} ms per tenant; ${filesPerObject.toFixed(2)} open files per object (limit ${openFileLimit()}, largest resident level ${RESIDENT})`,
  );
  report.settings.openFilesPerObject = filesPerObject;
  if (!process.env.BENCH_EVICTION && files0 + filesPerObject * MAX_TENANTS > openFileLimit() - 500) {
    throw new Error(
      `${MAX_TENANTS} resident objects would need ~${Math.round(files0 + filesPerObject * MAX_TENANTS)} open files (limit ${openFileLimit()}): pass a lower --resident`,
    );
  }

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
  // Every tenant's record into its own bare object (and, with --shared, the shared table),
  // 1,000 rows a request.
  const note = (t) => ({
    id: t.record,
    data: { title: `note of ${t.id}`, body: "The quick brown fox jumps over the lazy dog." },
  });
  const rows = [
    ...(values.shared ? tenants.map((t) => ({ tenant: t.id, ...note(t) })) : []),
    ...tenants.map((t) => ({ object: t.id, ...note(t) })),
  ];
  for (let i = 0; i < rows.length; i += 1000) {
    await api(comparators.base, single, "POST", "/seed", rows.slice(i, i + 1000));
  }

  const read = (t) => `GET /v1/collections/notes/records/${t.record} ${t.token}`;
  const bareRead = (t) => `GET /spread/collections/notes/records/${t.record} ${t.token}`;
  const writeBody = '{"title":"written","body":"a benchmark write"}';
  const t0 = tenants[0];
  const level = (n) => [
    {
      name: `silo-read-${n}`,
      server: "silo",
      lines: tenants.slice(0, n).map(read),
      tenants: n,
      touch: tenants.slice(0, n).map(read),
    },
    ...(n === MID
      ? [
          {
            name: `fixed-silo-read-${n}`,
            server: "silo",
            lines: tenants.slice(0, n).map(read),
            fixed: `silo-read-${n}`,
          },
        ]
      : []),
    // One bare object per tenant beside every level but one tenant (there: the baseline).
    ...(n > 1
      ? [
          {
            name: `bare-${n}`,
            server: "bare",
            lines: tenants.slice(0, n).map(bareRead),
            touch: tenants.slice(0, n).map(bareRead),
          },
        ]
      : []),
    // The bare read offered the SAME rate as Silo's fixed-rate read (half Silo's maximum): the
    // runtime's own tail at that load, with none of Silo's layers.
    ...(n === MID && n > 1
      ? [
          {
            name: `fixed-bare-${n}`,
            server: "bare",
            lines: tenants.slice(0, n).map(bareRead),
            fixed: `silo-read-${n}`,
          },
        ]
      : []),
  ];
  // The two ladder steps touch no tenant object and run last, so the next repeat's restart comes
  // nearer a minute after Silo's last reads of many tenants (DEFERRED_FLUSH_MS). healthz stays
  // first: with it last too, Silo's fixed-rate read had a later client (lag 19 - 25 ms against
  // 8 - 13) and a p99 of 29 - 44 ms in five of six repeats (the 2026-12-01 23:43 and 23:58 runs).
  const objectless = [
    { name: "ladder-auth", server: "bare", lines: [`GET /ladder/auth ${single}`] },
    { name: "ladder-rpc", server: "bare", lines: [`GET /ladder/rpc ${single}`] },
  ];
  const scenarios = [
    { name: "healthz", server: "silo", lines: ["GET /healthz -"] },
    { name: "fixed-healthz", server: "silo", lines: ["GET /healthz -"], fixed: "healthz" },
    { name: "baseline", server: "bare", lines: [`GET /v1/collections/notes/records/${t0.record} ${single}`] },
    ...LEVELS.flatMap(level),
    ...(values.shared
      ? [
          {
            name: `shared-${MAX_TENANTS}`,
            server: "bare",
            lines: tenants.map((t) => `GET /shared/collections/notes/records/${t.record} ${t.token}`),
          },
        ]
      : []),
    { name: "silo-write", server: "silo", lines: [`POST /v1/collections/notes/records ${t0.token} ${writeBody}`] },
    {
      name: "fixed-silo-write",
      server: "silo",
      lines: [`POST /v1/collections/notes/records ${t0.token} ${writeBody}`],
      fixed: "silo-write",
    },
    {
      name: "silo-write-idem",
      server: "silo",
      lines: [`POST /v1/collections/notes/records ${t0.token}+idem ${writeBody}`],
    },
    { name: "bare-write", server: "bare", lines: [`POST /spread/collections/notes/records ${t0.token} ${writeBody}`] },
    {
      name: "bare-write-audit",
      server: "bare",
      lines: [`POST /ladder/audit/collections/notes/records ${t0.token} ${writeBody}`],
    },
    {
      name: "bare-write-fts",
      server: "bare",
      lines: [`POST /ladder/fts/collections/notes/records ${t0.token} ${writeBody}`],
    },
    {
      name: "bare-write-usage",
      server: "bare",
      lines: [`POST /ladder/usage/collections/notes/records ${t0.token} ${writeBody}`],
    },
    {
      name: "bare-write-changes",
      server: "bare",
      lines: [`POST /ladder/changes/collections/notes/records ${t0.token} ${writeBody}`],
    },
    ...objectless,
  ];
  // Cold reads: after a restart of both runtimes on the same storage, each of COLD tenants read
  // once, CONNECTIONS in flight: every request is the first to its tenant's object.
  const colds =
    COLD === 0
      ? []
      : [
          { name: `cold-silo-${COLD}`, server: "silo", lines: tenants.slice(0, COLD).map(read), cold: true },
          { name: `cold-bare-${COLD}`, server: "bare", lines: tenants.slice(0, COLD).map(bareRead), cold: true },
        ];
  const keep = values.only ? new Set(values.only.split(",")) : null;
  const measured = (s) => !keep || keep.has(s.name);
  const all = [...colds, ...scenarios];
  const results = Object.fromEntries(all.filter(measured).map((s) => [s.name, []]));
  const memory = {};
  const budgets = {};
  for (let r = 1; r <= REPEATS; r++) {
    log(`repeat ${r} of ${REPEATS}`);
    if (colds.some(measured)) {
      // Silo's read counts are flushed by an alarm a minute after a tenant's reads; a restart
      // while those are due starts every such object at once, beside the cold pass (it did in
      // the runs before 2026-12-02: thousands of objects woke with the cold reads' first).
      // So the restart comes after they have fired, as an evicted tenant's would have on the
      // platform (70-140 s idle), and after both runtimes are idle again.
      const due = lastSiloReads + DEFERRED_FLUSH_MS - Date.now();
      if (due > 0) {
        log(`  waiting ${(due / 1000).toFixed(1)} s for Silo's deferred usage flushes`);
        await new Promise((r) => setTimeout(r, due));
      }
      await settleBoth();
      log("  restarting both runtimes on the same storage (cold objects)");
      await silo.mf.dispose();
      await comparators.mf.dispose();
      await startRuntimes();
      // The Worker isolates loaded (module, router, key import), no tenant object started.
      for (let i = 0; i < 50; i++) {
        await fetch(`${silo.base}/healthz`);
        await fetch(`${comparators.base}/ladder/auth`, { headers: { authorization: `Bearer ${single}` } });
      }
      for (const s of colds.filter(measured)) {
        const { pid, base } = server(s.server);
        await settleBoth();
        const stop = profiled(s.name) ? await startProfile(s.server === "silo" ? INSPECTOR : INSPECTOR + 1) : null;
        const cpu0 = cpuSeconds(pid);
        const m = await onePass(base, s.lines, CONNECTIONS);
        m.cpuUsPerRequest = ((cpuSeconds(pid) - cpu0) * 1e6) / m.requests;
        if (stop) {
          const { text, profiles } = await stop(`${OUT}/${s.name}`);
          console.log(text);
          budgets[s.name] = [...(budgets[s.name] ?? []), layerBudget(profiles, m.requests, m.cpuUsPerRequest)];
        }
        results[s.name].push(m);
        logResult(s.name, m);
      }
    }
    for (const s of scenarios.filter(measured)) {
      const { pid, base } = server(s.server);
      s.settle = [...(s.settle ?? []), await settleBoth()];
      if (s.touch) {
        // Every tenant's object started before measuring: the scenario is the steady state.
        const t1 = Date.now();
        await onePass(base, s.touch, CONNECTIONS);
        const touch = s.touch.length / ((Date.now() - t1) / 1000);
        s.touchRates = [...(s.touchRates ?? []), touch];
        log(`  ${s.name}: first touch of ${s.touch.length} tenants at ${touch.toFixed(0)}/s`);
      }
      const stop = profiled(s.name) ? await startProfile(s.server === "silo" ? INSPECTOR : INSPECTOR + 1) : null;
      let m;
      // The other runtime shares the pinned core: whatever it still does in the window is logged.
      const other = server(s.server === "silo" ? "bare" : "silo");
      // Where the measured window starts: both runtimes' CPU (and the threads', BENCH_THREADS=1).
      const mark = () => ({
        cpu: cpuSeconds(pid),
        other: cpuSeconds(other.pid),
        threads: process.env.BENCH_THREADS ? threadCpu(pid) : null,
      });
      let start = mark();
      if (s.fixed) {
        // Half the maximum this repeat measured for the same requests, offered on a schedule.
        const max = results[s.fixed]?.[r - 1]?.rps;
        if (!max) throw new Error(`${s.name} needs ${s.fixed} measured first (--only ${s.fixed},${s.name})`);
        m = await fixedClient(base, s.lines, max / 2, DURATION, CONNECTIONS * 2, 0.5);
        // V8's collections in the measured window, once their trace lines have arrived.
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (gcTraceAvailable()) m.gc = server(s.server).gc.window(...m.window);
      } else {
        // A scenario over N tenants was warmed by its touch pass (every object started, every path
        // run); the others by wrk itself (whole seconds only).
        if (WARMUP > 0 && !s.touch) {
          await wrk(base, s.lines, WARMUP);
          // The CPU per request counts the measured requests' window only.
          start = mark();
        }
        const from = performance.timeOrigin + performance.now();
        m = await wrk(base, s.lines, DURATION);
        m.window = [from, performance.timeOrigin + performance.now()];
        // The trace lines come line-buffered, within a few ms of each collection's end.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (gcTraceAvailable()) m.gc = server(s.server).gc.window(...m.window);
      }
      // The runtime's CPU per request: steadier than req/s when wrk and workerd share 2 cores.
      m.cpuUsPerRequest = ((cpuSeconds(pid) - start.cpu) * 1e6) / (m.sent ?? m.requests);
      m.otherCpuMs = (cpuSeconds(other.pid) - start.other) * 1e3;
      if (start.threads) {
        const t1 = threadCpu(pid);
        m.threadUsPerRequest = Object.fromEntries(
          Object.entries(t1).map(([k, v]) => [
            k,
            Math.round(((v - (start.threads[k] ?? 0)) * 1e6) / (m.sent ?? m.requests)),
          ]),
        );
        log(`  ${s.name} threads µs/req ${JSON.stringify(m.threadUsPerRequest)}`);
      }
      if (stop) {
        const { text, profiles, stalls } = await stop(`${OUT}/${s.name}`);
        console.log(text);
        budgets[s.name] = [...(budgets[s.name] ?? []), layerBudget(profiles, m.requests, m.cpuUsPerRequest)];
        m.stalls = stalls;
        const b = budgets[s.name].at(-1);
        log(
          `  ${s.name} CPU budget (µs/req): ${Object.entries(b)
            .map(([k, v]) => `${k} ${v.toFixed(0)}`)
            .join(", ")}`,
        );
      }
      results[s.name].push(m);
      if (s.server === "silo" && s.lines.length > 1) lastSiloReads = Date.now();
      if (s.tenants && s.server === "silo") {
        // BENCH_SNAPSHOT=1: a heap snapshot of the Worker's isolate after each level's full GC.
        const snapshot = process.env.BENCH_SNAPSHOT ? `${OUT}/silo-${s.tenants}.heapsnapshot` : null;
        const heap = process.env.BENCH_NO_HEAP ? 0 : await heapAfterGc(INSPECTOR, silo.base, snapshot);
        memory[s.tenants] = [...(memory[s.tenants] ?? []), { rss: rssMiB(silo.pid), heap }];
        log(
          `  heap after GC ${heap.toFixed(1)} MiB, RSS ${rssMiB(silo.pid).toFixed(0)} MiB, open files ${openFiles(silo.pid)}`,
        );
      }
      logResult(s.name, m);
    }
  }
  report.seconds = (Date.now() - started) / 1000;
  // --only runs a subset for investigation; the report needs every scenario.
  if (!values.only) {
    report.memory.levels = Object.fromEntries(
      Object.entries(memory).map(([n, xs]) => [
        n,
        { heapMiB: median(xs.map((x) => x.heap)), rssMiB: Math.max(...xs.map((x) => x.rss)) },
      ]),
    );
    // Per warm object: the isolate's heap between the smallest level and the largest whose objects
    // all stayed resident. Not from RSS: the process keeps what provisioning took, and the
    // databases' mapped files count in it.
    const lo = Math.min(...LEVELS);
    const level = (n) => report.memory.levels[n];
    report.memory.perWarmTenant =
      TOP > lo ? { between: [lo, TOP], heapKiB: ((level(TOP).heapMiB - level(lo).heapMiB) * 1024) / (TOP - lo) } : null;

    const byName = Object.fromEntries(all.map((s) => [s.name, s]));
    report.scenarios = Object.fromEntries(
      Object.entries(results).map(([name, runs]) => [
        name,
        {
          kind: byName[name].cold ? "cold" : byName[name].fixed ? "fixed" : "closed",
          rps: spread(runs.map((m) => m.rps)),
          p50Ms: median(runs.map((m) => m.p50Ms)),
          p99Ms: median(runs.map((m) => m.p99Ms)),
          p999Ms: runs[0].p999Ms === undefined ? undefined : median(runs.map((m) => m.p999Ms)),
          offered: byName[name].fixed ? median(runs.map((m) => m.offered)) : undefined,
          cpuUsPerRequest: median(runs.map((m) => m.cpuUsPerRequest)),
          errors: runs.reduce((a, m) => a + m.errors, 0),
          errorKinds: runs.reduce((a, m) => {
            for (const [k, n] of Object.entries(m.errorKinds)) a[k] = (a[k] ?? 0) + n;
            return a;
          }, {}),
          requests: runs.reduce((a, m) => a + m.requests, 0),
          settleSeconds: byName[name].settle,
          firstTouchPerSecond: byName[name].touchRates ? median(byName[name].touchRates) : undefined,
          runs,
        },
      ]),
    );
    // Ratios are taken within each repeat (side by side), then summarised; null where a smaller
    // run (--tenants) has no such level.
    const has = (...names) => names.every((n) => results[n]?.length);
    const per = (a, b) => (has(a, b) ? spread(results[a].map((m, i) => m.rps / results[b][i].rps)) : null);
    const fixedName = `fixed-silo-read-${MID}`;
    report.headlineLevels = { vs_bare: MID, cold_vs_bare: COLD, scale_resident: [TOP, LOW], p99: MID };
    report.ratios = {
      vs_bare: per(`silo-read-${MID}`, `bare-${MID}`),
      cold_vs_bare: per(`cold-silo-${COLD}`, `cold-bare-${COLD}`),
      write_vs_bare: per("silo-write", "bare-write"),
      scale_resident: TOP > LOW ? per(`silo-read-${TOP}`, `silo-read-${LOW}`) : null,
      hot_vs_bare: per("silo-read-1", "baseline"),
      p99_ms: has(fixedName) ? spread(results[fixedName].map((m) => m.p99Ms)) : null,
      p99_over_p50: has(fixedName) ? spread(results[fixedName].map((m) => m.p99Ms / m.p50Ms)) : null,
    };
    report.targets = {
      vs_bare: [">=", 0.9],
      cold_vs_bare: [">=", 0.8],
      write_vs_bare: [">=", 0.7],
      scale_resident: [">=", 0.9],
      hot_vs_bare: [">=", 0.9],
      p99_over_p50: ["<=", 10],
    };
    // Not targets: what tells Silo's own cost from the runtime's (runtime CPU per request, bare's
    // over Silo's, so a higher figure is better for Silo like the throughput ratios).
    const cpu = (a, b) =>
      has(a, b) ? spread(results[a].map((m, i) => results[b][i].cpuUsPerRequest / m.cpuUsPerRequest)) : null;
    report.diagnostics = {
      vs_bare_cpu: cpu(`silo-read-${MID}`, `bare-${MID}`),
      cold_vs_bare_cpu: cpu(`cold-silo-${COLD}`, `cold-bare-${COLD}`),
      write_vs_bare_cpu: cpu("silo-write", "bare-write"),
      hot_vs_bare_cpu: cpu("silo-read-1", "baseline"),
      ...Object.fromEntries(
        LEVELS.filter((n) => n > 1 && n !== MID).map((n) => [`vs_bare_${n}`, per(`silo-read-${n}`, `bare-${n}`)]),
      ),
      fixed_healthz_p99_ms: has("fixed-healthz") ? spread(results["fixed-healthz"].map((m) => m.p99Ms)) : null,
      // The bare read's p99 / p50 at the same offered rate as Silo's: the runtime's tail there.
      fixed_bare_p99_over_p50: has(`fixed-bare-${MID}`)
        ? spread(results[`fixed-bare-${MID}`].map((m) => m.p99Ms / m.p50Ms))
        : null,
      fixed_write_p99_over_p50: has("fixed-silo-write")
        ? spread(results["fixed-silo-write"].map((m) => m.p99Ms / m.p50Ms))
        : null,
    };
    if (Object.keys(budgets).length) {
      report.budget = Object.fromEntries(Object.entries(budgets).map(([k, xs]) => [k, xs.at(-1)]));
    }

    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(OUT, "scaling.svg"), scalingChart(report, LEVELS, COLD));
    const table = markdown(report);
    if (WRITE_MD) updateBenchmarksMd(table);
    console.log(`\n${table}`);
    console.log(
      `Wrote ${OUT}/latest.json, ${OUT}/scaling.svg${WRITE_MD ? " and the results in test/bench/BENCHMARKS.md" : " (BENCHMARKS.md only from a run without options, or with --md)"}.\n`,
    );
    const fmt = (v) => (v ? v.median.toFixed(3) : "n/a");
    for (const [k, v] of Object.entries(report.diagnostics)) console.log(`(diagnostic) ${k}=${fmt(v)}`);
    for (const [k, v] of Object.entries(report.ratios)) console.log(`${k}=${fmt(v)}`);
  }
} finally {
  await silo.mf.dispose().catch(() => {});
  await comparators.mf.dispose().catch(() => {});
  rmSync(persistDir, { recursive: true, force: true });
  rmSync(TARGETS_DIR, { recursive: true, force: true });
}

/** V8's pauses and marking steps on the isolate's thread in a measured window, µs per request. */
function gcUsPerRequest(m) {
  return ((m.gc.pauseMs + m.gc.markingMs) * 1000) / (m.sent ?? m.requests);
}

function logResult(name, m) {
  const tail = m.p999Ms === undefined ? "" : `  p99.9 ${m.p999Ms.toFixed(2)} ms`;
  const gc = m.gc ? `  gc ${gcUsPerRequest(m).toFixed(0)} µs/req` : "";
  const offered = m.offered
    ? `  (offered ${m.offered.toFixed(0)}/s, client lag ≤ ${m.lagMs.toFixed(1)} ms, ≤ ${m.maxOpen} outstanding${
        m.gc
          ? `; GC: ${m.gc.scavenges} scavenges ≤ ${m.gc.scavengeMaxMs.toFixed(1)} ms, ${m.gc.markCompacts} mark-compacts ≤ ${m.gc.markCompactMaxMs.toFixed(1)} ms, ${m.gc.pauseMs.toFixed(0)} ms paused`
          : ""
      })`
    : "";
  log(
    `  ${name.padEnd(20)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms${tail}  errors ${m.errors}${m.errors ? ` ${JSON.stringify(m.errorKinds)}` : ""}  cpu ${m.cpuUsPerRequest.toFixed(0)} µs/req${gc}${m.otherCpuMs === undefined ? "" : `  other runtime ${m.otherCpuMs.toFixed(0)} ms`}${offered}`,
  );
}

function markdown(r) {
  const m = r.machine;
  const s = r.scenarios;
  const n0 = (v) => (v === undefined || v === null || Number.isNaN(v) ? "–" : v.toFixed(0));
  const n2 = (v) => (v === undefined || v === null || Number.isNaN(v) ? "–" : v.toFixed(2));
  const rps = (x) => (x ? `${n0(x.rps.median)} (${n0(x.rps.min)} – ${n0(x.rps.max)})` : "–");
  const lat = (x) => (x ? `${n2(x.p50Ms)} / ${n2(x.p99Ms)}` : "–");
  const errs = (x) =>
    x?.errors
      ? `${x.errors} (${Object.entries(x.errorKinds)
          .map(([k, n]) => `${k}: ${n}`)
          .join(", ")})`
      : "0";
  const ratio = (a, b) =>
    a && b
      ? (() => {
          const xs = a.runs.map((x, i) => x.rps / b.runs[i].rps);
          return `${Math.min(...xs).toFixed(2)} – ${median(xs).toFixed(2)} – ${Math.max(...xs).toFixed(2)}`;
        })()
      : "–";
  // The isolate thread's GC time (pauses and marking steps) per request, median over repeats.
  const gcUs = (x) => {
    const g = (x?.runs ?? []).filter((y) => y.gc);
    return g.length ? n0(median(g.map(gcUsPerRequest))) : "–";
  };
  const levels = r.settings.levels;
  const readRows = [
    ...levels.map((n) => {
      const a = s[`silo-read-${n}`];
      const b = n === 1 ? s.baseline : s[`bare-${n}`];
      const label = `${n.toLocaleString("en")}${n === 1 ? " (bare: baseline)" : ""}${n === r.settings.residentLevel ? " (largest resident)" : ""}`;
      return `| ${label} | warm | ${rps(a)} | ${rps(b)} | ${ratio(a, b)} | ${n0(a?.cpuUsPerRequest)} / ${n0(b?.cpuUsPerRequest)} | ${gcUs(a)} / ${gcUs(b)} | ${lat(a)} | ${lat(b)} | ${errs(a)} / ${errs(b)} |`;
    }),
    (() => {
      const a = s[`cold-silo-${r.settings.cold}`];
      const b = s[`cold-bare-${r.settings.cold}`];
      return `| ${r.settings.cold.toLocaleString("en")} | cold | ${rps(a)} | ${rps(b)} | ${ratio(a, b)} | ${n0(a?.cpuUsPerRequest)} / ${n0(b?.cpuUsPerRequest)} | ${gcUs(a)} / ${gcUs(b)} | ${lat(a)} | ${lat(b)} | ${errs(a)} / ${errs(b)} |`;
    })(),
  ];
  const simple = (names) =>
    names
      .filter((k) => s[k])
      .map(
        (k) =>
          `| ${k} | ${rps(s[k])} | ${n0(s[k].cpuUsPerRequest)} | ${gcUs(s[k])} | ${lat(s[k])} | ${n2(s[k].p999Ms)} | ${errs(s[k])} |`,
      );
  // V8's collections in the measured window (median over repeats): scavenges (longest pause) and
  // mark-compacts (longest pause), per second of load.
  const gcCell = (x) => {
    const g = x.runs.map((y) => y.gc).filter(Boolean);
    if (!g.length) return "–";
    const med = (f) => median(g.map(f));
    return `${n2(med((y) => y.scavenges / y.seconds))}/s (${n2(med((y) => y.scavengeMaxMs))}) · ${n2(med((y) => y.markCompacts / y.seconds))}/s (${n2(med((y) => y.markCompactMaxMs))})`;
  };
  const fixedRows = Object.entries(s)
    .filter(([, x]) => x.kind === "fixed")
    .map(
      ([k, x]) =>
        `| ${k} | ${n0(x.offered)} | ${n0(x.rps.median)} | ${n2(x.p50Ms)} | ${n2(x.p99Ms)} | ${n2(x.p999Ms)} | ${n2(
          median(x.runs.map((y) => y.maxMs)),
        )} | ${(x.p99Ms / x.p50Ms).toFixed(1)} | ${n2(median(x.runs.map((y) => y.lagMs)))} | ${gcCell(x)} | ${errs(x)} |`,
    );
  const target = (k) => r.targets[k];
  const headline = Object.entries(r.ratios).map(([k, v]) => {
    const t = target(k);
    const met = v && t ? ((t[0] === ">=" ? v.median >= t[1] : v.median <= t[1]) ? "yes" : "no") : "–";
    return `| ${k} | ${v ? v.median.toFixed(3) : "n/a"} | ${v ? `${v.min.toFixed(3)} – ${v.max.toFixed(3)}` : "–"} | ${t ? `${t[0]} ${t[1]}` : "–"} | ${met} |`;
  });
  const diag = Object.entries(r.diagnostics).map(
    ([k, v]) =>
      `| ${k} | ${v ? v.median.toFixed(3) : "n/a"} | ${v ? `${v.min.toFixed(3)} – ${v.max.toFixed(3)}` : "–"} |`,
  );
  const mem = Object.entries(r.memory.levels)
    .map(([n, v]) => `${n} tenants: heap ${v.heapMiB.toFixed(1)} MiB, RSS ${v.rssMiB.toFixed(0)} MiB`)
    .join("; ");
  const budget = r.budget
    ? [
        "",
        "CPU budget per request by layer (µs: each layer's share of the isolate's busy samples × the runtime's CPU per request; `--profile`, the last profiled repeat):",
        "",
        `| layer | ${Object.keys(r.budget).join(" | ")} |`,
        `| --- | ${Object.keys(r.budget)
          .map(() => "---:")
          .join(" | ")} |`,
        ...[...new Set(Object.values(r.budget).flatMap((b) => Object.keys(b)))].map(
          (layer) =>
            `| ${layer} | ${Object.values(r.budget)
              .map((b) => n0(b[layer]))
              .join(" | ")} |`,
        ),
      ]
    : [];
  return [
    `Run of ${r.date.slice(0, 16).replace("T", " ")} UTC on ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.kernel}, Node ${m.node}.`,
    `Storage (tenant objects' SQLite, D1, R2): ${r.settings.objectStorage}; tenant objects ${r.settings.objectsResident ? "kept resident" : "workerd's 10 s idle eviction on (open-file limit too low to keep every object resident)"}; open-file limit ${r.settings.openFileLimit}, ${n2(r.settings.openFilesPerObject)} files per object, largest resident level ${r.settings.residentLevel}.`,
    `Closed loop (wrk): ${r.settings.threads} thread(s), ${r.settings.connections} connections, ${r.settings.warmup} s warm-up (the tenant-count scenarios: their touch pass) + ${r.settings.duration} s per scenario; fixed rate (Node client): 0.5 s + ${r.settings.duration} s at half the repeat's closed-loop maximum; cold: each of ${r.settings.cold} tenants read once after a restart, ${r.settings.connections} in flight. ${r.settings.repeats} repeats (min – max shows the noise). Whole run: ${r.seconds.toFixed(0)} s.`,
    "",
    "| headline | median | min – max | target | met? |",
    "| --- | ---: | ---: | ---: | :---: |",
    ...headline,
    "",
    "Reads by tenant count (req/s median (min – max); ratio Silo / bare per repeat: min – median – max; CPU: runtime µs per request; GC: the isolate thread's collection pauses and marking steps, µs per request; p50 / p99 ms):",
    "",
    "| tenants | objects | Silo req/s | bare req/s | Silo / bare | CPU µs Silo / bare | GC µs Silo / bare | Silo p50 / p99 | bare p50 / p99 | errors Silo / bare |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...readRows,
    "",
    "Writes, one tenant (the ladder from the bare minimum to Silo's create):",
    "",
    "| scenario | req/s median (min – max) | CPU µs/req | GC µs/req | p50 / p99 ms | p99.9 ms | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...simple([
      "bare-write",
      "bare-write-audit",
      "bare-write-fts",
      "bare-write-usage",
      "bare-write-changes",
      "silo-write",
      "silo-write-idem",
    ]),
    "",
    "Tails at a fixed rate (open loop, latency from the intended send time):",
    "",
    "| scenario | offered /s | served /s | p50 ms | p99 ms | p99.9 ms | max ms | p99 / p50 | client lag ms | GC: scavenges (max ms) · mark-compacts (max ms) | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...fixedRows,
    "",
    "The read ladder (closed loop): from a trivial route to the bare read:",
    "",
    "| scenario | req/s median (min – max) | CPU µs/req | GC µs/req | p50 / p99 ms | p99.9 ms | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...simple([
      "healthz",
      "ladder-auth",
      "ladder-rpc",
      "baseline",
      ...Object.keys(s).filter((k) => k.startsWith("shared-")),
    ]),
    "",
    "| diagnostic | median | min – max |",
    "| --- | ---: | ---: |",
    ...diag,
    ...budget,
    "",
    `Provisioning: ${r.provisioning.tenants} tenants in ${r.provisioning.seconds.toFixed(1)} s = ${r.provisioning.perSecond.toFixed(0)} tenants/s through POST /v1/tenants (16 in flight; runtime CPU ${r.provisioning.cpuMsPerTenant.toFixed(1)} ms per tenant).`,
    `Retention sweep: ${r.sweep.tenants} tenants in ${r.sweep.seconds.toFixed(1)} s (${r.sweep.cronInvocations} cron invocations back to back, ${r.sweep.failures} failures).`,
    `Memory after each Silo level (the Worker isolate's heap after a full GC, median over repeats; the runtime process's RSS, max): at start RSS ${r.memory.startMiB.toFixed(0)} MiB; ${mem}.${
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
