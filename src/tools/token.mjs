#!/usr/bin/env node
// Mints a local HS256 token from .dev.vars.
//   npm run token -- --admin                       platform admin
//   npm run token -- --tenant acme --sub alice     tenant user (optional --roles viewer,editor)
//   --ttl 12h sets the lifetime (default 12h)
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { ensureDevVars } from "./local-secrets.mjs";

export async function mintToken(vars, { sub, tenant, admin, roles, ttl = "12h" }) {
  const claims = {};
  if (admin) claims.scope = "platform:admin";
  if (tenant) claims.tenant_id = tenant;
  if (roles) claims.roles = roles;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuer(vars.AUTH_ISSUER)
    .setAudience(vars.AUTH_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(vars.AUTH_HS256_SECRET));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      tenant: { type: "string" },
      sub: { type: "string" },
      admin: { type: "boolean", default: false },
      roles: { type: "string" },
      ttl: { type: "string", default: "12h" },
    },
  });
  if (!values.admin && !values.tenant) {
    console.error("usage: npm run token -- --admin | --tenant <id> --sub <user> [--roles a,b] [--ttl 12h]");
    process.exit(2);
  }
  const { vars } = ensureDevVars();
  const token = await mintToken(vars, {
    sub: values.sub ?? (values.admin ? "admin" : "user"),
    tenant: values.tenant,
    admin: values.admin,
    roles: values.roles?.split(",").filter(Boolean),
    ttl: values.ttl,
  });
  console.log(token);
}
