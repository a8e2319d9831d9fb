#!/usr/bin/env node
// npm run deploy: makes what is missing on the Cloudflare account (D1 database, R2 bucket,
// secrets), applies the D1 migrations, and only then deploys the code, so a new version never
// runs against an old control-plane schema. `-- --dry-run` touches nothing remote.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import { PLACEHOLDER_ID, readWranglerConfig, writeDatabaseId } from "./wrangler-config.mjs";

/** Secrets the Worker refuses to start without; an inner array means "one of these". */
export const REQUIRED_SECRETS = ["MASTER_KEY", ["AUTH_JWKS", "AUTH_JWKS_URL"], "AUTH_ISSUER", "AUTH_AUDIENCE"];

const projectBin = fileURLToPath(new URL("../../node_modules/.bin", import.meta.url));

/**
 * Runs `wrangler <args>`: the first wrangler on PATH (npm run puts the project's there first),
 * else the project's own. `input` is written to stdin; `stream` shows the output as it comes.
 */
export function wranglerRunner(env = process.env) {
  const PATH = [env.PATH, projectBin].filter(Boolean).join(delimiter);
  return (args, { input, stream = false } = {}) =>
    new Promise((done, fail) => {
      const child = spawn("wrangler", args, {
        env: { ...env, PATH, WRANGLER_SEND_METRICS: "false" },
        stdio: [input === undefined ? "ignore" : "pipe", stream ? "inherit" : "pipe", stream ? "inherit" : "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (d) => {
        stdout += d;
      });
      child.stderr?.on("data", (d) => {
        stderr += d;
      });
      child.on("error", fail);
      child.on("close", (status) => done({ status: status ?? 1, stdout, stderr }));
      if (input !== undefined) child.stdin.end(input);
    });
}

/** A stop with a message for the operator (not a bug); `done` lists what had been changed. */
class DeployError extends Error {
  done = [];
}

function secretName(required) {
  return Array.isArray(required) ? required.join(" or ") : required;
}

/** The secrets among REQUIRED_SECRETS that are neither put nor set under [vars]. */
export function missingSecrets(present) {
  const has = (name) => present.includes(name);
  return REQUIRED_SECRETS.filter((r) => (Array.isArray(r) ? !r.some(has) : !has(r)));
}

/**
 * The deploy. Everything outside the process is injected: `run` (wrangler), `ask` (a prompt,
 * used only when `isTTY`), `log`, and `cwd` (where wrangler.toml is).
 */
export async function deploy({
  argv = [],
  cwd = process.cwd(),
  run = wranglerRunner(),
  isTTY = Boolean(process.stdin.isTTY),
  ask = askOnTerminal,
  log = console.log,
} = {}) {
  const dryRun = argv.includes("--dry-run");
  const outdirAt = argv.indexOf("--outdir");
  const tomlPath = join(cwd, "wrangler.toml");
  const config = readWranglerConfig(tomlPath);
  const migrations = readdirSync(resolve(cwd, config.migrationsDir))
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const done = [];
  let step = 0;
  const heading = (text) => log(`\n[${++step}] ${text}`);

  const wrangler = async (args, options = {}) => {
    log(`  $ wrangler ${args.join(" ")}`);
    const result = await run(args, options);
    if (result.status !== 0 && !options.allowFailure) {
      const output = `${result.stderr ?? ""}${result.stdout ?? ""}`.trim();
      throw new DeployError(`wrangler ${args[0]} ${args[1] ?? ""} failed (exit ${result.status})\n${output}`.trim());
    }
    return result;
  };

  if (dryRun) {
    log(`Dry run: nothing on the account is read or changed. A real deploy of "${config.worker}" would:`);
    log(`  1. check the wrangler login (wrangler whoami)`);
    log(
      `  2. find or create the D1 database "${config.database}" and write its id into wrangler.toml (now ${config.databaseId === PLACEHOLDER_ID ? "the placeholder" : config.databaseId})`,
    );
    log(`  3. find or create the R2 bucket "${config.bucket}"`);
    log(`  4. check the secrets ${REQUIRED_SECRETS.map(secretName).join(", ")} (prompting for missing ones)`);
    log(`  5. apply the D1 migrations not yet applied, from ${migrations.join(", ")}`);
    log(`  6. wrangler deploy`);
    heading("Checking the bundle");
    const outdir = outdirAt >= 0 ? argv[outdirAt + 1] : mkdtempSync(join(tmpdir(), "silo-bundle-"));
    try {
      await wrangler(["deploy", "--dry-run", "--outdir", outdir], { stream: true });
    } finally {
      if (outdirAt < 0) rmSync(outdir, { recursive: true, force: true });
    }
    log(`\nDry run done: the bundle builds; nothing was created, changed or deployed.`);
    return { dryRun: true, done };
  }

  try {
    heading("Account");
    const who = await wrangler(["whoami", "--json"], { allowFailure: true });
    const user = parseJson(who.stdout);
    if (who.status !== 0 || !user?.loggedIn) {
      throw new DeployError("Not logged in to Cloudflare: run `npx wrangler login`, or set CLOUDFLARE_API_TOKEN.");
    }
    const accounts = user.accounts ?? [];
    const chosen = process.env.CLOUDFLARE_ACCOUNT_ID ?? config.accountId;
    if (accounts.length > 1 && !chosen) {
      throw new DeployError(
        `This login reaches ${accounts.length} accounts; choose one with CLOUDFLARE_ACCOUNT_ID=<id>:\n${accounts.map((a) => `  ${a.id}  ${a.name}`).join("\n")}`,
      );
    }
    const account = accounts.find((a) => a.id === chosen) ?? accounts[0];
    log(
      `  ${user.email ?? user.authType ?? "logged in"}, account ${account ? `${account.name} (${account.id})` : (chosen ?? "the token's")}`,
    );

    heading(`D1 database ${config.database}`);
    const findDatabase = async () =>
      (parseJson((await wrangler(["d1", "list", "--json"])).stdout) ?? []).find((db) => db.name === config.database);
    let database = await findDatabase();
    if (database) {
      log(`  exists: ${database.uuid}`);
    } else {
      await wrangler(["d1", "create", config.database]);
      database = await findDatabase();
      if (!database) throw new DeployError(`wrangler d1 create ran, but ${config.database} is not listed`);
      log(`  created: ${database.uuid}`);
      done.push(`created the D1 database ${config.database} (${database.uuid})`);
    }
    if (writeDatabaseId(tomlPath, database.uuid)) {
      log(`  wrote database_id = "${database.uuid}" into wrangler.toml (was ${config.databaseId})`);
      done.push(`wrote the database id into wrangler.toml (commit it)`);
    } else {
      log(`  wrangler.toml already has this id`);
    }

    heading(`R2 bucket ${config.bucket}`);
    const listed = (await wrangler(["r2", "bucket", "list"])).stdout;
    const buckets = [...listed.matchAll(/^name:\s+(\S+)\s*$/gm)].map((m) => m[1]);
    if (buckets.includes(config.bucket)) {
      log(`  exists`);
    } else {
      await wrangler(["r2", "bucket", "create", config.bucket]);
      log(`  created`);
      done.push(`created the R2 bucket ${config.bucket}`);
    }

    heading("Secrets");
    // A Worker that was never deployed has no secrets to list; `secret put` creates it as a draft.
    const secretList = await wrangler(["secret", "list", "--format", "json"], { allowFailure: true });
    if (secretList.status !== 0 && !/not found/i.test(`${secretList.stderr}${secretList.stdout}`)) {
      throw new DeployError(`wrangler secret list failed (exit ${secretList.status})\n${secretList.stderr}`.trim());
    }
    const present = [...(parseJson(secretList.stdout) ?? []).map((s) => s.name), ...config.vars];
    const missing = missingSecrets(present);
    if (missing.length === 0) {
      log(`  all set: ${REQUIRED_SECRETS.map(secretName).join(", ")}`);
    } else if (!isTTY) {
      throw new DeployError(
        `Missing secrets (no terminal to ask on):\n${missing.map((m) => `  ${secretName(m)}`).join("\n")}\nSet each with \`npx wrangler secret put NAME\` (the value on stdin), then run npm run deploy again.`,
      );
    } else {
      for (const required of missing) {
        const { name, value, generated } = await askSecret(required, ask);
        await wrangler(["secret", "put", name], { input: value });
        if (generated) {
          log(`  generated MASTER_KEY; it cannot be read back from Cloudflare, so store it now:\n    ${value}`);
        }
        done.push(`put the secret ${name}${generated ? " (generated)" : ""}`);
      }
    }

    heading("D1 migrations (before the code, so new code never meets an old schema)");
    await wrangler(["d1", "migrations", "apply", config.database, "--remote"], { stream: true });
    done.push("applied the pending D1 migrations");

    heading("Deploy");
    await wrangler(["deploy"], { stream: true });
    done.push(`deployed ${config.worker}`);
  } catch (err) {
    if (err instanceof DeployError) err.done = done;
    throw err;
  }

  log(`\nDone:\n${done.map((d) => `  - ${d}`).join("\n")}`);
  return { dryRun: false, done };
}

/** Asks for one missing secret; MASTER_KEY may be left empty to generate one. */
async function askSecret(required, ask) {
  if (required === "MASTER_KEY") {
    const value = (await ask("MASTER_KEY (base64 of 32 bytes; Enter to generate one): ")).trim();
    return value
      ? { name: required, value, generated: false }
      : { name: required, value: randomBytes(32).toString("base64"), generated: true };
  }
  const names = Array.isArray(required) ? required : [required];
  for (;;) {
    for (const name of names) {
      const hint = name === "AUTH_JWKS_URL" ? " (the identity provider's JWKS address)" : "";
      const value = (await ask(`${name}${hint}${names.length > 1 ? ", or Enter to skip" : ""}: `)).trim();
      if (value) return { name, value, generated: false };
    }
  }
}

async function askOnTerminal(question) {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** JSON from a wrangler answer; a warning printed before it is skipped. */
function parseJson(text) {
  const at = text.search(/^[[{]/m);
  try {
    return JSON.parse(at > 0 ? text.slice(at) : text);
  } catch {
    return undefined;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await deploy({ argv: process.argv.slice(2) });
  } catch (err) {
    if (!(err instanceof DeployError)) throw err;
    console.error(`\nDeploy stopped: ${err.message}`);
    if (err.done.length) console.error(`Changed before stopping:\n${err.done.map((d) => `  - ${d}`).join("\n")}`);
    process.exitCode = 1;
  }
}
