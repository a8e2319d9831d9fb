// Starts the real Worker locally for end-to-end tests: `wrangler dev` with local D1, R2 and
// Durable Objects persisted in a fresh temporary folder, the D1 migrations applied, and fresh
// secrets passed as --var (the project's .dev.vars is neither read for them nor changed).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../../src/tools/token.mjs";

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

export async function startSilo({ logFile }) {
  const dir = mkdtempSync(join(tmpdir(), "silo-e2e-"));
  const vars = {
    AUTH_HS256_SECRET: randomBytes(32).toString("base64url"),
    AUTH_ISSUER: "silo-e2e",
    AUTH_AUDIENCE: "silo",
    MASTER_KEY: randomBytes(32).toString("base64"),
    EXPORT_CHUNK_ROWS: "2",
  };
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" };
  const migrate = spawnSync(
    "npx",
    ["wrangler", "d1", "migrations", "apply", "silo-control", "--local", "--persist-to", dir],
    { env, encoding: "utf8" },
  );
  if (migrate.status !== 0) throw new Error(`D1 migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);

  const port = await freePort();
  const log = openSync(logFile, "w");
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(
    "npx",
    ["wrangler", "dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", dir, ...varArgs],
    { env, stdio: ["ignore", log, log], detached: true },
  );
  const base = `http://localhost:${port}`;
  const stop = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}); see ${logFile}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      stop();
      throw new Error(`wrangler dev did not answer within 120 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const token = (opts) => mintToken(vars, opts);
  return { base, stop, token, adminToken: await token({ sub: "e2e-admin", admin: true }) };
}
