// Builds and serves the Worker for benchmarks on the Workers runtime WITHOUT wrangler dev's Node
// proxy: Miniflare 4's own server, with the project's real bindings (SQLite-backed Durable
// Objects, D1, R2) persisted to a temporary folder. Load goes to a direct socket of the Worker
// (workerd listening for it itself), not through Miniflare's entry worker, which is a second
// JavaScript hop inside workerd that caps a hello-world route at ~8k req/s here (~25k direct).
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare4";
import { gcTraceAvailable, gcTraceEnv } from "./gc-trace.mjs";

// Miniflare 4's workerd accepts dates up to mid-2026; the deployed Worker uses wrangler.toml's.
export const BENCH_COMPAT_DATE = "2026-07-01";
const BUILD = "node_modules/.cache/silo-bench";

export async function buildBundles() {
  // Fresh files, never written in place: a node_modules copied with hard links shares these
  // files' inodes between checkouts, and a build in one would rewrite the others' bundles.
  rmSync(BUILD, { recursive: true, force: true });
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
  const silo = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", `${BUILD}/silo`], {
    env,
    encoding: "utf8",
  });
  if (silo.status !== 0) throw new Error(`wrangler build failed:\n${silo.stdout}\n${silo.stderr}`);
  await build({
    entryPoints: ["test/bench/comparators.ts"],
    outfile: `${BUILD}/comparators/index.js`,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*", "node:*"],
    logLevel: "error",
  });
}

/** Pids of workerd processes started by this Node process. */
export function workerdPids() {
  const out = spawnSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" }).stdout;
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, comm]) => pid && comm?.startsWith("workerd"))
    .map(([pid]) => Number(pid));
}

/** Resident memory of a process, in MiB. */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function serve({ directPort = 0, gc = null, ...options }) {
  const before = new Set(workerdPids());
  // With a GC log, workerd is spawned with V8's --trace-gc and line-buffered stdout (gc-trace.mjs);
  // the variables are set only while Miniflare starts it.
  const traced = gc && gcTraceAvailable() ? gcTraceEnv() : {};
  const saved = Object.fromEntries(Object.keys(traced).map((k) => [k, process.env[k]]));
  Object.assign(process.env, traced);
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: true,
    compatibilityDate: BENCH_COMPAT_DATE,
    compatibilityFlags: ["nodejs_compat"],
    unsafeDirectSockets: [{ host: "127.0.0.1", port: directPort }],
    ...(gc
      ? {
          handleRuntimeStdio(stdout, stderr) {
            stdout.setEncoding("utf8").on("data", (d) => process.stdout.write(gc.onOutput(d)));
            stderr.pipe(process.stderr);
          },
        }
      : {}),
    ...options,
  });
  const entry = await mf.ready.finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const direct = await mf.unsafeGetDirectURL();
  const pid = workerdPids().find((p) => !before.has(p));
  return { mf, base: direct.origin, entry: entry.origin, pid };
}

/** Files a process holds open now. */
export const openFiles = (pid) => readdirSync(`/proc/${pid}/fd`).length;

/** The soft limit on open files: every resident object keeps its database files open. */
export function openFileLimit() {
  const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync("/proc/self/limits", "utf8"));
  return m?.[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m?.[1] ?? 1024);
}

/**
 * Silo on Miniflare. `objectsOnDisk` keeps the tenant objects' SQLite in the persist folder (so
 * a runtime started again on the same folder finds them, as the soak needs); `directPort` fixes
 * the direct socket's port (0: any free one), so clients reconnect to the same address.
 */
export async function startSilo({ vars, persistDir, objectsOnDisk = false, directPort = 0, gc = null }) {
  const dir = `${BUILD}/silo`;
  const server = await serve({
    directPort,
    gc,
    scriptPath: join(dir, "index.js"),
    modulesRules: [{ type: "Text", include: ["**/*.sql"], fallthrough: true }],
    // workerd evicts an object after ~10 s idle; the platform keeps it 70-140 s. A uniform load
    // over 10,000 tenants revisits each every few seconds, so on the platform they stay warm;
    // locally the first pass would take longer than 10 s and never get there. Objects stay in
    // memory here, as they would there; BENCH_EVICTION=1 keeps workerd's eviction to measure
    // cold starts (see BENCHMARKS.md).
    durableObjects: {
      TENANT_DB: { className: "TenantDatabase", useSQLite: true, unsafePreventEviction: !process.env.BENCH_EVICTION },
    },
    d1Databases: { CONTROL_DB: "silo-control" },
    r2Buckets: ["FILES"],
    bindings: { ...vars, TENANT_CLAIM: "tenant_id", TENANT_GRACE_DAYS: "30", LOG_REQUESTS: "off" },
    // Tenant objects' SQLite in Miniflare's temporary folder (run.mjs points it at tmpfs when
    // there is one): local file creation and syncs are costs the platform does not have (see
    // BENCHMARKS.md). BENCH_PERSIST=disk keeps them in the persist folder on disk.
    durableObjectsPersist: objectsOnDisk || process.env.BENCH_PERSIST === "disk" ? join(persistDir, "do") : false,
    d1Persist: join(persistDir, "d1"),
    r2Persist: join(persistDir, "r2"),
    unsafeTriggerHandlers: true,
    // `npm run bench -- --profile <scenario>` samples the Worker's isolate through the inspector.
    ...(process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) } : {}),
  });
  // The control plane's D1 migrations, in order, each once, as wrangler would apply them (a
  // runtime started again on the same folder finds them applied).
  const db = await server.mf.getD1Database("CONTROL_DB");
  await db.exec("CREATE TABLE IF NOT EXISTS d1_migrations (name TEXT PRIMARY KEY)");
  const applied = new Set((await db.prepare("SELECT name FROM d1_migrations").all()).results.map((r) => r.name));
  // Only the .sql files: migrations/meta/ is drizzle-kit's record, which wrangler skips too.
  const files = readdirSync("migrations").filter((f) => f.endsWith(".sql"));
  for (const file of files.sort()) {
    if (applied.has(file)) continue;
    const statements = readFileSync(join("migrations", file), "utf8")
      .replace(/--.*$/gm, "")
      .split(/;\s*$/m)
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch([
      ...statements.map((s) => db.prepare(s)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(file),
    ]);
  }
  return server;
}

/**
 * The comparators on Miniflare: the same eviction rule as Silo's objects, and with
 * `objectsOnDisk` their objects' SQLite in the persist folder (kept over a restart, for cold reads).
 */
export async function startComparators({ vars, persistDir, objectsOnDisk = false, gc = null }) {
  return serve({
    gc,
    scriptPath: `${BUILD}/comparators/index.js`,
    durableObjects: {
      BENCH_DB: { className: "BenchDatabase", useSQLite: true, unsafePreventEviction: !process.env.BENCH_EVICTION },
    },
    // Like Silo's, its request log is off: a console line per request would cost it throughput.
    bindings: { ...vars, TENANT_CLAIM: "tenant_id", LOG_REQUESTS: "off" },
    durableObjectsPersist: objectsOnDisk || process.env.BENCH_PERSIST === "disk" ? join(persistDir, "bench-do") : false,
    // Its own inspector (next to Silo's), so `--profile baseline` can sample it too.
    ...(process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) + 1 } : {}),
  });
}

export function machine() {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? 0;
  const memGiB = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024 / 1024;
  const kernel = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  return { cpu, cores, memGiB: Math.round(memGiB), kernel, node: process.version };
}
