// Reads (or creates) .dev.vars, the local secrets wrangler dev loads. An existing file is kept.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export const DEV_VARS = ".dev.vars";

export function ensureDevVars() {
  if (existsSync(DEV_VARS)) return { created: false, vars: readDevVars() };
  const vars = {
    AUTH_HS256_SECRET: randomBytes(32).toString("base64url"),
    AUTH_ISSUER: "silo-local",
    AUTH_AUDIENCE: "silo",
    MASTER_KEY: randomBytes(32).toString("base64"),
  };
  const text = Object.entries(vars)
    .map(([k, v]) => `${k}="${v}"`)
    .join("\n");
  writeFileSync(DEV_VARS, `# Local secrets for wrangler dev, made by npm run dev. Never commit.\n${text}\n`, {
    mode: 0o600,
  });
  return { created: true, vars };
}

export function readDevVars() {
  const vars = {};
  for (const line of readFileSync(DEV_VARS, "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}
