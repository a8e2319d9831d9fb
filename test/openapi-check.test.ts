// The response checker itself: it passes what the document describes and fails, naming method,
// path, status and the validation errors, what it does not (fabricated answers for real routes).
import { describe, expect, it } from "vitest";
import { documentChecker } from "./openapi-check";

const BASE = "https://silo.test";
const jsonAnswer = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const problemAnswer = (status: number, code: string, headers: Record<string, string> = {}) =>
  new Response(
    JSON.stringify({ type: `urn:silo:problem:${code}`, title: code, status, detail: "x", code, requestId: "r-1" }),
    { status, headers: { "content-type": "application/problem+json", ...headers } },
  );

async function check(method: string, path: string, response: Response) {
  await (await documentChecker()).check(method, `${BASE}${path}`, response);
}

describe("the OpenAPI response checker", () => {
  it("passes answers the document describes", async () => {
    await check("GET", "/healthz", jsonAnswer({ ok: true }));
    await check("GET", "/v1/me", problemAnswer(401, "unauthenticated"));
    await check("GET", "/v1/me", problemAnswer(503, "service_unavailable", { "retry-after": "1" }));
    await check("POST", "/v1/collections/notes/records:batch", jsonAnswer({ results: [{ id: "a", version: 1 }] }));
    await check(
      "GET",
      "/v1/files/reports/2026/q3.txt",
      new Response("hello", {
        headers: {
          "content-type": "text/plain",
          etag: '"e"',
          "content-disposition": "inline",
          "accept-ranges": "bytes",
        },
      }),
    );
    await check("GET", "/no/such/route", problemAnswer(404, "not_found"));
  });

  it("fails an undeclared status, naming method, path and status", async () => {
    await expect(check("GET", "/v1/me", jsonAnswer({}, 418))).rejects.toThrow(
      /GET \/v1\/me → 418 \(documented as get \/v1\/me\): status 418 is not declared/,
    );
    await expect(check("DELETE", "/v1/collections/notes", jsonAnswer({}, 500))).rejects.toThrow(/500 is not declared/);
  });

  it("fails a body that violates its schema, with the validation errors (through $refs)", async () => {
    await expect(check("GET", "/healthz", jsonAnswer({ ok: false }))).rejects.toThrow(
      /GET \/healthz → 200 .*does not match the documented schema:\n.*#\/ok/s,
    );
    // A field the document does not name is drift too, however deep (here inside a $ref'd item).
    await expect(check("GET", "/healthz", jsonAnswer({ ok: true, uptime: 3 }))).rejects.toThrow(
      /does not declare: #\/uptime/,
    );
    await expect(
      check(
        "GET",
        "/v1/search?q=x",
        jsonAnswer({ items: [{ collection: "n", id: "a", score: 1, snippet: "", raw: "x" }], nextCursor: null }),
      ),
    ).rejects.toThrow(/does not declare: #\/items\/0\/raw/);
    // Tenant → $ref Limits: a wrong type deep inside is found and located.
    const tenant = {
      id: "acme",
      name: "Acme",
      status: "active",
      tier: "pro",
      jurisdiction: null,
      limits: {
        requestsPerSecond: "fast",
        burst: 1,
        maxRecords: 1,
        maxStorageBytes: 1,
        maxMembers: 1,
        maxCollections: 1,
        maxRequestsPerMonth: 1,
        maxBackups: 1,
      },
      limitOverrides: {},
      settings: {},
      legalHold: false,
      owner: "alice",
      createdAt: "x",
      updatedAt: "x",
      cancelledAt: null,
    };
    await expect(check("GET", "/v1/tenants/acme", jsonAnswer(tenant))).rejects.toThrow(/#\/limits\/requestsPerSecond/);
    // The literal path /records:batch is its own operation, not /records/{id}.
    await expect(
      check("POST", "/v1/collections/notes/records:batch", jsonAnswer({ results: "all done" })),
    ).rejects.toThrow(/documented as post \/v1\/collections\/\{name\}\/records:batch.*\n.*#\/results/s);
    await expect(
      check(
        "GET",
        "/v1/me",
        new Response("{}", { status: 403, headers: { "content-type": "application/problem+json" } }),
      ),
    ).rejects.toThrow(/required property "code"/);
  });

  it("fails an undeclared content type, a missing declared header, and an unknown route answered otherwise than 404", async () => {
    await expect(
      check("GET", "/v1/me", new Response("<p>hi</p>", { headers: { "content-type": "text/html" } })),
    ).rejects.toThrow(/content type 'text\/html' is not declared \(declared: application\/json\)/);
    await expect(check("GET", "/v1/me", problemAnswer(503, "service_unavailable"))).rejects.toThrow(
      /503 .*declared header Retry-After is missing/,
    );
    await expect(
      check("GET", "/v1/files/a/b.txt", new Response("x", { headers: { "content-type": "text/plain" } })),
    ).rejects.toThrow(/declared header ETag is missing/);
    await expect(check("GET", "/no/such/route", jsonAnswer({ ok: true }))).rejects.toThrow(
      /no operation in \/openapi.json matches GET \/no\/such\/route/,
    );
  });
});
