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
});
