// The operator CLI's output against a stand-in API on the loopback address (canned answers of
// the documented shapes): `fleet schema`, `fleet alerts`, a `migrate` sweep's progress, and
// numbers read as the portal shows them (GiB, separators, percentages, UTC times).
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ANSWERS: Record<string, unknown> = {
  "GET /v1/fleet/schema": {
    latest: "0003_export_jobs",
    tenants: { "0003_export_jobs": 1234, "0002_search_index": 1 },
    failed: [
      {
        tenant: "acme",
        error: "0003_export_jobs: table export_jobs already exists",
        at: "2026-12-01T10:18:42.000Z",
        schema: "0002_search_index",
      },
    ],
  },
  "GET /v1/fleet/alerts": {
    items: [
      {
        tenant: "acme",
        kind: "near_limit",
        metric: "storageBytes",
        value: 48318382080,
        limit: 53687091200,
        since: "2026-12-01T10:00:00.000Z",
      },
      {
        tenant: "acme",
        kind: "near_limit",
        metric: "records",
        value: 212345,
        limit: 250000,
        since: "2026-12-01T10:00:00.000Z",
      },
      {
        tenant: "beta",
        kind: "config_behind",
        metric: "config",
        value: 4,
        limit: 5,
        since: "2026-12-01T11:00:00.000Z",
      },
      { tenant: "gamma", kind: "errors", metric: "5xx", value: 1500, limit: null, since: "2026-12-01T11:30:00.000Z" },
    ],
    nextCursor: null,
  },
  "POST /v1/sweeps": {
    id: "run-1",
    kind: "migrate",
    status: "pending",
    tenants: 0,
    failures: 0,
    counts: { total: 2500 },
    errors: [],
  },
  "GET /v1/sweeps/run-1": {
    id: "run-1",
    kind: "migrate",
    status: "completed",
    tenants: 2500,
    failures: 1,
    counts: { total: 2500, migrated: 2400, current: 99 },
    errors: [{ tenant: "acme", error: "migration failed: table export_jobs already exists" }],
  },
  "GET /v1/tenants/acme/usage": {
    period: "2026-12",
    limits: {
      maxRequestsPerMonth: 1000000,
      maxRecords: 250000,
      maxStorageBytes: 53687091200,
      maxMembers: 50,
      maxCollections: 100,
    },
    current: { requests: 1234567, records: 212345, storageBytes: 48318382080 },
    periods: [],
  },
};

let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const key = `${req.method} ${req.url?.split("?")[0]}`;
    seen.push(key);
    const body = ANSWERS[key];
    res.writeHead(body ? 200 : 404, { "content-type": "application/json" });
    res.end(JSON.stringify(body ?? { code: "not_found", detail: "No such route." }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

function silo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["src/tools/silo.mjs", "--url", base, "--token", "t", ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("silo CLI output", () => {
  it("fleet schema: tenants per schema with separators and shares; a failed migration is listed and exits 1", async () => {
    const r = await silo("fleet", "schema");
    expect(r.stdout).toContain("Newest migration: 0003_export_jobs");
    expect(r.stdout).toMatch(/0003_export_jobs \(newest\)\s+1,234\s+99\.9%/);
    expect(r.stdout).toMatch(/0002_search_index\s+1\s+0\.08%/);
    expect(r.stdout).toMatch(/acme\s+2026-12-01 10:18:42 UTC\s+0003_export_jobs: table export_jobs already exists/);
    expect(r.code).toBe(1);
  });

  it("fleet alerts: each alert in words, bytes in GiB, counts with separators", async () => {
    const r = await silo("fleet", "alerts");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/acme\s+near a limit\s+2026-12-01 10:00:00 UTC\s+Storage 45 GiB of 50 GiB \(90%\)/);
    expect(r.stdout).toContain("Records 212,345 of 250,000 (84.9%)");
    expect(r.stdout).toMatch(/beta\s+config not applied.*applied 4 of version 5/);
    expect(r.stdout).toMatch(/gamma\s+5xx answers \(last hour\).*1,500 errors/);
    expect(r.stdout).not.toMatch(/48318382080|53687091200/);
    const raw = JSON.parse((await silo("fleet", "alerts", "--json")).stdout);
    expect(raw).toHaveLength(4);
  });

  it("sweeps run migrate: progress against the run's total, failures listed, exit 1", async () => {
    const r = await silo("sweeps", "run", "migrate");
    expect(seen).toContain("POST /v1/sweeps");
    expect(r.stderr).toContain("Sweep run-1 (migrate) started.");
    expect(r.stderr).toContain("completed: 2,500 of 2,500 tenants (100%), 1 failure — migrated 2,400, current 99");
    expect(r.stdout).toContain("Sweep run-1 completed: 2,500 of 2,500 tenants (100%), 1 failure.");
    expect(r.stderr).toContain("acme: migration failed: table export_jobs already exists");
    expect(r.code).toBe(1);
  });

  it("usage: counters in their units against the limits", async () => {
    const r = await silo("usage", "acme");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Requests\s+1,234,567\s+1,000,000 \(123%\)/);
    expect(r.stdout).toMatch(/Storage\s+45 GiB\s+50 GiB \(90%\)/);
    expect(r.stdout).toMatch(/Records\s+212,345\s+250,000 \(84\.9%\)/);
  });

  it("an unknown fleet action is a usage error", async () => {
    const r = await silo("fleet", "nope");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Unknown fleet action 'nope'.");
  });
});
