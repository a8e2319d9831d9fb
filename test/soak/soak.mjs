// The soak: the runtime (test/soak/server.mjs) in its own process group, the workload
// (test/soak/workload.mjs) in another process, SIGKILLs of the runtime's whole group at random
// moments with a restart on the same storage, then the checker over the API and R2.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare4";
import { BENCH_COMPAT_DATE, buildBundles } from "../bench/servers.mjs";
import { tokenSigner } from "../bench/tokens.mjs";
import { check, table } from "./checker.mjs";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });

/** Starts a child and resolves with the first stdout line matching `ready`; other lines go to `onLine`. */
function start(args, env, ready, onLine, detached = false) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    detached,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const line = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (l) => {
      if (ready.test(l)) resolve(l);
      else onLine?.(l);
    });
    child.on("exit", (code, signal) =>
      reject(new Error(`${args[0]} exited (${code ?? signal}) before ready:\n${stderr}`)),
    );
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  return { child, line, exited, stderr: () => stderr };
}

/**
 * Runs one soak. Returns the checker's result plus the run's figures.
 * @param {{ tenants?: number, seconds?: number, kills?: number, seed?: number, log?: (s: string) => void, build?: boolean }} opts
 */
export async function soak({
  tenants = 100,
  seconds = 300,
  kills = 5,
  seed = Date.now() % 1e6,
  log = console.log,
  build = true,
} = {}) {
  const t0 = Date.now();
  const say = (msg) => log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);
  if (build) {
    say("building the Worker (wrangler deploy --dry-run)");
    await buildBundles();
  }
  // Storage on tmpfs when there is one with room (containers often give /dev/shm 64 MiB): it
  // survives the process, as a disk would, without the machine's disk costs; SOAK_DIR puts it
  // elsewhere.
  const root = process.env.SOAK_DIR ?? (freeBytes("/dev/shm") >= 2 ** 30 ? "/dev/shm" : tmpdir());
  const dir = mkdtempSync(join(root, "silo-soak-"));
  const persistDir = join(dir, "state");
  const logFile = join(dir, "acks.jsonl");
  const vars = {
    AUTH_HS256_SECRET: randomBytes(32).toString("base64url"),
    AUTH_ISSUER: "silo-soak",
    AUTH_AUDIENCE: "silo",
    MASTER_KEY: randomBytes(32).toString("base64"),
  };
  const env = { SOAK_VARS: JSON.stringify(vars) };
  const port = await freePort();
  let server = null;
  const boot = async () => {
    const s = start([here("server.mjs"), persistDir, String(port)], env, /^READY /, null, true);
    await s.line;
    server = s;
  };
  const kill = async (signal = "SIGKILL") => {
    // The whole group: the Node process and the workerd it spawned die at once.
    process.kill(-server.child.pid, signal);
    await server.exited;
  };
  const stops = [];
  let workload = null;
  try {
    await boot();
    const base = `http://127.0.0.1:${port}`;
    say(
      `runtime up on ${base} (storage ${persistDir}); workload: ${tenants} tenants, ${seconds} s, ${kills} kills, seed ${seed}`,
    );
    workload = start(
      [here("workload.mjs"), base, String(tenants), String(seconds), logFile, String(seed)],
      env,
      /^LOAD /,
      (l) => (/^PROGRESS|^DONE/.test(l) ? null : say(`workload: ${l}`)),
    );
    await workload.line;
    const loadStart = Date.now();
    say("tenants provisioned; load running");
    // One kill in each equal slot of the middle 80% of the run, at a random moment in it.
    let r = seed;
    const rand = () => {
      r = (r * 1103515245 + 12345) % 2147483648;
      return r / 2147483648;
    };
    const slot = (seconds * 0.8 * 1000) / kills;
    const at = Array.from({ length: kills }, (_, i) => seconds * 100 + slot * (i + rand()));
    for (const ms of at) {
      const wait = loadStart + ms - Date.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      const acks = countLines(logFile);
      stops.push(Date.now());
      await kill();
      say(`SIGKILL ${stops.length}/${kills} (runtime group ${server.child.pid}) after ${acks} log lines; restarting`);
      const before = Date.now();
      await boot();
      say(`  up again in ${((Date.now() - before) / 1000).toFixed(1)} s`);
    }
    const code = await workload.exited;
    if (code !== 0) throw new Error(`workload failed (${code}):\n${workload.stderr()}`);
    say("workload done; checking every tenant");
    const stats = JSON.parse(readFileSync(`${logFile}.stats.json`, "utf8"));
    const sign = tokenSigner(vars, "2h");
    const admin = await sign({ scope: "platform:admin" }, "soak-checker");
    // The API first, against the runtime that served the end of the load; then R2's keys, read
    // from the stopped runtime's storage by a bare Miniflare with the same bucket.
    let r2 = null;
    const keysOf = async (tenant) => {
      const prefix = `tenant-${tenant}/files/`;
      const keys = [];
      let cursor;
      do {
        const page = await r2.list({ prefix, cursor });
        keys.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    };
    const bare = new Miniflare({
      modules: true,
      script: "export default { fetch() { return new Response(null) } }",
      compatibilityDate: BENCH_COMPAT_DATE,
      r2Buckets: ["FILES"],
      r2Persist: join(persistDir, "r2"),
    });
    let result;
    try {
      r2 = await bare.getR2Bucket("FILES");
      result = await check({
        base,
        admin,
        tokenOf: (id) => sign({ tenant_id: id }, "owner"),
        logFile,
        stats,
        r2Keys: keysOf,
        stops,
      });
    } finally {
      await bare.dispose();
    }
    return { ...result, kills: stops.length, seconds: (Date.now() - t0) / 1000, outcomes: stats.outcomes, tenants };
  } finally {
    if (workload && workload.child.exitCode === null) workload.child.kill("SIGKILL");
    if (server && server.child.exitCode === null) await kill("SIGTERM").catch(() => {});
    if (!process.env.SOAK_KEEP) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

function freeBytes(path) {
  try {
    const fs = statfsSync(path);
    return fs.bavail * fs.bsize;
  } catch {
    return 0;
  }
}

function countLines(file) {
  try {
    return readFileSync(file, "utf8").split("\n").length - 1;
  } catch {
    return 0;
  }
}

/** The report: the invariant table, the read-count window, and the last line. */
export function report(result) {
  const { reads } = result;
  const secs = reads.windowSeconds.length ? Math.max(...reads.windowSeconds) : 0;
  return [
    table(result),
    "",
    `requests: ${result.outcomes.answered} answered, ${result.outcomes.unanswered} unanswered (${JSON.stringify(result.outcomes.byStatus)}); ` +
      `${result.odd} answers the workload did not expect; ${result.recovered} file writes settled by the objects' recovery`,
    `read counts: ${reads.answered} reads answered, ${reads.counted} counted, ${reads.lost} lost over ${result.kills} kills ` +
      `(at most ${reads.maxLostPerTenant} for one tenant, ≈ ${secs.toFixed(1)} s of its reads per kill; documented: up to 60 s or 1,000 counts)`,
    `soak: ${result.acknowledged} acknowledged, ${result.lost} lost, ${result.torn} torn, ${result.chainsBroken} chains broken`,
  ].join("\n");
}
