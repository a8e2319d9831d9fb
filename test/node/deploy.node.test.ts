// npm run deploy against a fake `wrangler` on PATH (a stub written here that records its argv and
// answers like wrangler 4 from a state file): what it creates, in which order, what it writes
// into wrangler.toml, when it refuses. The script itself runs unchanged; no network.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { deploy, wranglerRunner } from "../../src/tools/deploy.mjs";
import { PLACEHOLDER_ID } from "../../src/tools/wrangler-config.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const script = join(root, "src/tools/deploy.mjs");
const NEW_ID = "5f0c1c3e-7d2a-4b1e-9a55-000000000001";

interface State {
  loggedIn: boolean;
  accounts: { id: string; name: string }[];
  d1: { name: string; uuid: string }[];
  buckets: string[];
  workerExists: boolean;
  secrets: string[];
  put: Record<string, string>;
}

const STUB = `#!/usr/bin/env node
const fs = require("node:fs");
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_WRANGLER_LOG, JSON.stringify(args) + "\\n");
const state = JSON.parse(fs.readFileSync(process.env.FAKE_WRANGLER_STATE, "utf8"));
const save = () => fs.writeFileSync(process.env.FAKE_WRANGLER_STATE, JSON.stringify(state));
const cmd = args.join(" ");
const out = (s) => process.stdout.write(s + "\\n");
if (cmd.startsWith("whoami")) {
  if (!state.loggedIn) { out(JSON.stringify({ loggedIn: false })); process.exit(1); }
  out(JSON.stringify({ loggedIn: true, authType: "OAuth Token", email: "ops@example.com", accounts: state.accounts }));
} else if (cmd.startsWith("d1 list")) {
  out(JSON.stringify(state.d1.map((d) => ({ ...d, created_at: "2026-12-01T00:00:00Z", version: "production" }))));
} else if (cmd.startsWith("d1 create")) {
  state.d1.push({ name: args[2], uuid: "${NEW_ID}" }); save();
  out("Successfully created DB '" + args[2] + "'\\n[[d1_databases]]\\ndatabase_id = \\"${NEW_ID}\\"");
} else if (cmd.startsWith("r2 bucket list")) {
  out("Listing buckets...");
  out(state.buckets.map((b) => "name:           " + b + "\\ncreation_date:  2026-12-01T00:00:00.000Z").join("\\n\\n"));
} else if (cmd.startsWith("r2 bucket create")) {
  state.buckets.push(args[3]); save(); out("Created bucket '" + args[3] + "'");
} else if (cmd.startsWith("secret list")) {
  if (!state.workerExists) { process.stderr.write('✘ [ERROR] Worker "silo" not found.\\n'); process.exit(1); }
  out(JSON.stringify(state.secrets.map((name) => ({ name, type: "secret_text" }))));
} else if (cmd.startsWith("secret put")) {
  const value = fs.readFileSync(0, "utf8");
  state.secrets.push(args[2]); state.put[args[2]] = value; state.workerExists = true; save();
} else if (cmd.startsWith("d1 migrations apply")) {
  out("Migrations applied");
} else if (cmd.startsWith("deploy")) {
  const at = args.indexOf("--outdir");
  if (at >= 0) fs.writeFileSync(require("node:path").join(args[at + 1], "index.js"), "// bundle");
  out(args.includes("--dry-run") ? "--dry-run: exiting now." : "Deployed silo");
} else {
  process.stderr.write("fake wrangler: unexpected " + args.join(" ") + "\\n"); process.exit(2);
}
`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project copy (wrangler.toml, migrations/) and a bin/ holding the fake wrangler. */
function project(state: Partial<State> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "silo-deploy-"));
  dirs.push(dir);
  copyFileSync(join(root, "wrangler.toml"), join(dir, "wrangler.toml"));
  cpSync(join(root, "migrations"), join(dir, "migrations"), { recursive: true });
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin/wrangler"), STUB);
  chmodSync(join(dir, "bin/wrangler"), 0o755);
  const full: State = {
    loggedIn: true,
    accounts: [{ id: "acc1", name: "Acme" }],
    d1: [],
    buckets: [],
    workerExists: false,
    secrets: [],
    put: {},
    ...state,
  };
  writeFileSync(join(dir, "state.json"), JSON.stringify(full));
  writeFileSync(join(dir, "calls.log"), "");
  const env = {
    ...process.env,
    PATH: `${join(dir, "bin")}${delimiter}${process.env.PATH}`,
    FAKE_WRANGLER_LOG: join(dir, "calls.log"),
    FAKE_WRANGLER_STATE: join(dir, "state.json"),
  };
  return {
    dir,
    env,
    /** `npm run deploy -- <args>` in the copy, stdin a pipe (not a terminal). */
    run: (...args: string[]) => spawnSync(process.execPath, [script, ...args], { cwd: dir, env, encoding: "utf8" }),
    calls: () =>
      readFileSync(join(dir, "calls.log"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as string[]).join(" ")),
    state: () => JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as State,
    toml: () => readFileSync(join(dir, "wrangler.toml"), "utf8"),
  };
}

const ALL_SECRETS = ["MASTER_KEY", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"];

describe("npm run deploy", () => {
  it("creates the missing D1 database and bucket, writes the id, migrates before deploying", () => {
    const p = project({ workerExists: true, secrets: ALL_SECRETS });
    const before = p.toml();
    const res = p.run();
    expect(res.status, res.stderr + res.stdout).toBe(0);
    expect(p.calls()).toEqual([
      "whoami --json",
      "d1 list --json",
      "d1 create silo-control",
      "d1 list --json",
      "r2 bucket list",
      "r2 bucket create silo-files",
      "secret list --format json",
      "d1 migrations apply silo-control --remote",
      "deploy",
    ]);
    // Only the id line changed, nothing else in the file.
    expect(before).toContain(`database_id = "${PLACEHOLDER_ID}"`);
    expect(p.toml()).toBe(before.replace(PLACEHOLDER_ID, NEW_ID));
    expect(res.stdout).toContain(`created the D1 database silo-control (${NEW_ID})`);
    expect(res.stdout).toContain("created the R2 bucket silo-files");
    expect(res.stdout).toContain("wrote the database id into wrangler.toml");
  });

  it("creates nothing and leaves wrangler.toml alone when everything exists", () => {
    const p = project({
      d1: [{ name: "silo-control", uuid: NEW_ID }],
      buckets: ["other", "silo-files"],
      workerExists: true,
      secrets: ALL_SECRETS,
    });
    writeFileSync(join(p.dir, "wrangler.toml"), p.toml().replace(PLACEHOLDER_ID, NEW_ID));
    const before = p.toml();
    const res = p.run();
    expect(res.status, res.stderr + res.stdout).toBe(0);
    expect(p.calls().filter((c) => / create |secret put/.test(c))).toEqual([]);
    expect(p.calls().indexOf("d1 migrations apply silo-control --remote")).toBeLessThan(p.calls().indexOf("deploy"));
    expect(p.toml()).toBe(before);
    expect(res.stdout).toMatch(/Done:\n {2}- applied the pending D1 migrations\n {2}- deployed silo/);
  });

  it("without a terminal, stops before migrating or deploying and lists the missing secrets", () => {
    const p = project({ d1: [{ name: "silo-control", uuid: NEW_ID }], buckets: ["silo-files"], secrets: [] });
    const res = p.run();
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("Missing secrets (no terminal to ask on):");
    for (const name of ["MASTER_KEY", "AUTH_JWKS or AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"]) {
      expect(res.stderr).toContain(`  ${name}\n`);
    }
    expect(p.calls().some((c) => c.startsWith("secret put") || c.startsWith("d1 migrations") || c === "deploy")).toBe(
      false,
    );
    // What it did change is said even though it stopped.
    expect(res.stderr).toContain("Changed before stopping:\n  - wrote the database id into wrangler.toml");
  });

  it("says how to log in and changes nothing when wrangler is not logged in", () => {
    const p = project({ loggedIn: false });
    const before = p.toml();
    const res = p.run();
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("Not logged in to Cloudflare");
    expect(p.calls()).toEqual(["whoami --json"]);
    expect(p.toml()).toBe(before);
  });

  it("asks which account when the login reaches several", () => {
    const p = project({
      accounts: [
        { id: "a1", name: "One" },
        { id: "a2", name: "Two" },
      ],
    });
    const res = p.run();
    expect(res.status).toBe(1);
    expect(res.stderr).toContain("CLOUDFLARE_ACCOUNT_ID");
    expect(p.calls()).toEqual(["whoami --json"]);
  });

  it("on a terminal, puts the secrets it asks for and generates MASTER_KEY on Enter", async () => {
    const p = project({ d1: [{ name: "silo-control", uuid: NEW_ID }], buckets: ["silo-files"] });
    const answers: Record<string, string> = {
      MASTER_KEY: "",
      AUTH_JWKS: "",
      AUTH_JWKS_URL: "https://idp.example.com/.well-known/jwks.json",
      AUTH_ISSUER: "https://idp.example.com/",
      AUTH_AUDIENCE: "silo",
    };
    const asked: string[] = [];
    const lines: string[] = [];
    await deploy({
      cwd: p.dir,
      run: wranglerRunner(p.env),
      isTTY: true,
      ask: async (q: string) => {
        const name = /^[A-Z_]+/.exec(q)?.[0] ?? "";
        asked.push(name);
        return answers[name] ?? "";
      },
      log: (l: string) => lines.push(l),
    });
    expect(asked).toEqual(["MASTER_KEY", "AUTH_JWKS", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE"]);
    const { put } = p.state();
    expect(Buffer.from(put.MASTER_KEY ?? "", "base64")).toHaveLength(32);
    expect(put.AUTH_JWKS_URL).toBe(answers.AUTH_JWKS_URL);
    expect(put.AUTH_JWKS).toBeUndefined();
    const calls = p.calls();
    expect(calls.lastIndexOf("secret put AUTH_AUDIENCE")).toBeLessThan(
      calls.indexOf("d1 migrations apply silo-control --remote"),
    );
    expect(calls.at(-1)).toBe("deploy");
    expect(lines.join("\n")).toContain("put the secret MASTER_KEY (generated)");
  });

  it("--dry-run touches nothing: only wrangler deploy --dry-run runs, and it says what it would do", () => {
    const p = project({ loggedIn: false });
    const before = p.toml();
    const res = p.run("--dry-run");
    expect(res.status, res.stderr + res.stdout).toBe(0);
    const calls = p.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^deploy --dry-run --outdir \S+$/);
    expect(p.toml()).toBe(before);
    expect(p.state().d1).toEqual([]);
    expect(res.stdout).toContain('find or create the D1 database "silo-control"');
    expect(res.stdout).toContain("0004_external_ids.sql");
    expect(res.stdout).toContain("nothing was created, changed or deployed");
  });
});
