// The per-request log line: the figures an operator needs, never a credential or a body.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createTenant } from "./helpers";
import { expectDocumented } from "./openapi-check";

describe("request log", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes one JSON line with request id, tenant, principal, route, status, duration and rate state", async () => {
    const t = await createTenant();
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    const { createApp } = await import("../src/app");
    const app = createApp();
    const secretBody = JSON.stringify({ title: "top secret value" });
    const request = new Request("https://silo.test/v1/collections/nope/records", {
      method: "POST",
      headers: { authorization: `Bearer ${t.ownerToken}`, "content-type": "application/json" },
      body: secretBody,
    });
    const res = await expectDocumented(request, await app.request(request, {}, { ...env, LOG_REQUESTS: "on" }));
    expect(res.status).toBe(404);
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      requestId: res.headers.get("x-request-id"),
      method: "POST",
      route: "/v1/collections/:name/records",
      status: 404,
      tenant: t.id,
      principal: "user",
    });
    expect(typeof logged[0].durationMs).toBe("number");
    expect(logged[0].rateLimit).toMatch(/^"tenant";r=\d+;t=\d+$/);
    const raw = lines.join("\n");
    expect(raw).not.toContain(t.ownerToken);
    expect(raw).not.toContain("top secret value");
  });

  // wrangler declares the METRICS dataset, but locally (miniflare, the vitest plugin) its writes are
  // dropped and cannot be read back, so this injects a binding that records them.
  it("writes one Analytics Engine data point per request when the METRICS binding exists", async () => {
    const t = await createTenant();
    const points: AnalyticsEngineDataPoint[] = [];
    const metrics: AnalyticsEngineDataset = { writeDataPoint: (p) => void points.push(p ?? {}) };
    const { createApp } = await import("../src/app");
    const app = createApp();
    const request = new Request("https://silo.test/v1/me", { headers: { authorization: `Bearer ${t.ownerToken}` } });
    const res = await expectDocumented(request, await app.request(request, {}, { ...env, METRICS: metrics }));
    expect(res.status).toBe(200);
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ indexes: [t.id], blobs: ["/v1/me", "GET", "user"] });
    expect(points[0]?.doubles?.[0]).toBe(200);
    expect(typeof points[0]?.doubles?.[1]).toBe("number");
    // Without the binding nothing is written and the request is answered the same.
    const { METRICS: _none, ...without } = env;
    const plain = await app.request(new Request(request), {}, without);
    expect(plain.status).toBe(200);
    expect(points).toHaveLength(1);
  });
});
