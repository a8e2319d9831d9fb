#!/usr/bin/env node
// npm run dev: local secrets, local D1 migrations, a platform-admin token and copy-paste curls,
// then wrangler dev (local D1, R2 and Durable Objects). Arguments after -- go to wrangler dev.
import { spawn, spawnSync } from "node:child_process";
import { ensureDevVars } from "./local-secrets.mjs";
import { mintToken } from "./token.mjs";

process.env.WRANGLER_SEND_METRICS = "false";
const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = portIndex >= 0 ? args[portIndex + 1] : "8787";

const { created, vars } = ensureDevVars();
console.log(created ? "Created .dev.vars with fresh local secrets." : "Using the existing .dev.vars.");

const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "silo-control", "--local"], {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const admin = await mintToken(vars, { sub: "admin", admin: true });
const alice = await mintToken(vars, { sub: "alice", tenant: "acme" });
const base = `http://localhost:${port}`;
console.log(`
Silo is starting on ${base}

Platform-admin token (12 h):
  export ADMIN_TOKEN=${admin}

Create a tenant:
  curl -s -X POST ${base}/v1/tenants -H "authorization: Bearer $ADMIN_TOKEN" \\
    -H 'content-type: application/json' -d '{"id":"acme","name":"Acme","tier":"pro","owner":{"sub":"alice"}}'

Call it as its owner:
  export ALICE_TOKEN=${alice}
  curl -s ${base}/v1/me -H "authorization: Bearer $ALICE_TOKEN"

More tokens: npm run token -- --tenant acme --sub bob
`);

const passThrough = portIndex >= 0 ? args.filter((_, i) => i !== portIndex && i !== portIndex + 1) : args;
const child = spawn("npx", ["wrangler", "dev", "--port", port, ...passThrough], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
