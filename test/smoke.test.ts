import { describe, expect, it } from "vitest";
import { call, createTenant, json } from "./helpers";

describe("smoke", () => {
  it("healthz answers with a request id", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
  it("a tenant owner sees themselves in /v1/me", async () => {
    const t = await createTenant();
    const res = await call("/v1/me", { token: t.ownerToken });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.tenant).toMatchObject({ id: t.id, status: "active", tier: "pro" });
  });
});
