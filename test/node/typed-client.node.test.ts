// A typed client for one tenant, the README's three commands against a live runtime: fetch the
// tenant's /v1/openapi.json, generate TypeScript with openapi-typescript, compile a small client
// with tsc and run it against the tenant. A wrong field name must fail the compile.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundles, startSilo } from "../bench/servers.mjs";
import { tokenSigner } from "../bench/tokens.mjs";

const vars = {
  AUTH_HS256_SECRET: randomBytes(32).toString("base64url"),
  AUTH_ISSUER: "silo-typed-client",
  AUTH_AUDIENCE: "silo",
  MASTER_KEY: randomBytes(32).toString("base64"),
};
const sign = tokenSigner(vars, "10m");
const persistDir = mkdtempSync(join(tmpdir(), "silo-typed-client-"));
// Inside the repository, so the client resolves nothing but what it is given.
const work = join("node_modules/.cache/silo-typed-client", String(process.pid));
let silo: Awaited<ReturnType<typeof startSilo>>;
let owner = "";

const CLIENT = (field: string) => `import type { components } from "./tenant";
type Patient = components["schemas"]["patients"];
type NewPatient = components["schemas"]["patients.create"];

export async function admit(base: string, token: string): Promise<Patient> {
  const patient: NewPatient = { name: "Ann", ${field}: 41, ward: "b" };
  const res = await fetch(base + "/v1/collections/patients/records", {
    method: "POST",
    headers: { authorization: "Bearer " + token, "content-type": "application/json" },
    body: JSON.stringify(patient),
  });
  const created: Patient = await res.json();
  return created;
}
`;

/** tsc on one file of the work folder, with no ambient types: only the generated ones. */
function tsc(file: string) {
  const config = {
    compilerOptions: {
      strict: true,
      target: "es2022",
      module: "es2022",
      lib: ["es2022", "dom"],
      types: [],
      outDir: ".",
    },
    files: [file],
  };
  writeFileSync(join(work, `tsconfig.${file}.json`), JSON.stringify(config));
  return spawnSync("node_modules/.bin/tsc", ["-p", join(work, `tsconfig.${file}.json`)], { encoding: "utf8" });
}

beforeAll(async () => {
  await buildBundles();
  silo = await startSilo({ vars, persistDir });
  const admin = await sign({ scope: "platform:admin" }, "root");
  const post = (path: string, token: string, body: unknown) =>
    fetch(`${silo.base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const created = await post("/v1/tenants", admin, {
    id: "typed-1",
    name: "Typed",
    tier: "pro",
    owner: { sub: "ann" },
  });
  expect(created.status).toBe(201);
  owner = await sign({ tenant_id: "typed-1" }, "ann");
  const collection = await post("/v1/collections", owner, {
    name: "patients",
    fields: [
      { name: "name", type: "string", required: true },
      { name: "age", type: "integer" },
      { name: "ward", type: "enum", values: ["a", "b"] },
    ],
  });
  expect(collection.status).toBe(201);
  mkdirSync(work, { recursive: true });
}, 180_000);

afterAll(async () => {
  await silo?.mf.dispose();
  rmSync(persistDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe("a typed client for a tenant", () => {
  it("is generated from the tenant's document, compiles, and a wrong field name does not", {
    timeout: 120_000,
  }, async () => {
    // 1. the tenant's document
    const res = await fetch(`${silo.base}/v1/openapi.json`, { headers: { authorization: `Bearer ${owner}` } });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    const checked = await new Validator().validate(doc);
    expect(checked.errors ?? []).toEqual([]);
    writeFileSync(join(work, "tenant.json"), JSON.stringify(doc));
    // 2. its types
    const gen = spawnSync("npx", ["openapi-typescript", join(work, "tenant.json"), "-o", join(work, "tenant.d.ts")], {
      encoding: "utf8",
    });
    expect(gen.status, gen.stderr).toBe(0);
    // 3. a client that uses them: compiles and works against the live tenant
    writeFileSync(join(work, "client.ts"), CLIENT("age"));
    const good = tsc("client.ts");
    expect(good.status, good.stdout).toBe(0);
    const { admit } = await import(pathToFileURL(join(process.cwd(), work, "client.js")).href);
    const patient = await admit(silo.base, owner);
    expect(patient).toMatchObject({ name: "Ann", age: 41, ward: "b", version: 1 });

    writeFileSync(join(work, "wrong.ts"), CLIENT("agee"));
    const wrong = tsc("wrong.ts");
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/'agee' does not exist in type/);
  });
});
