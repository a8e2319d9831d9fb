// HTTP surface: problem+json for every failure, request ids, the OpenAPI document.
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { call, json } from "./helpers";

describe("errors and request ids", () => {
  it("answers unknown routes with a problem and a request id", async () => {
    const res = await call("/nope");
    const body = await json(res);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(body).toMatchObject({ status: 404, code: "not_found", title: "Not found" });
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("keeps a sane incoming request id and replaces a hostile one", async () => {
    const kept = await call("/healthz", { headers: { "x-request-id": "trace-123" } });
    expect(kept.headers.get("x-request-id")).toBe("trace-123");
    const replaced = await call("/healthz", { headers: { "x-request-id": "<script>" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("OpenAPI", () => {
  it("is an OpenAPI 3.1 document describing every route the app serves", async () => {
    const res = await call("/openapi.json");
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(res);
    expect(res.status).toBe(200);
    expect(doc.openapi).toBe("3.1.0");
    const served = createApp()
      // The portal and the rendered reference are HTML for people, not API operations.
      .routes.filter((r) => r.method !== "ALL" && r.path !== "/openapi.json" && !/^\/(admin|docs)\b/.test(r.path))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/\/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "/{$1}")}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(served.length).toBeGreaterThan(5);
    for (const route of served) expect(documented, route).toContain(route);
  });
});
