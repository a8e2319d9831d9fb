// Files in R2 under the tenant's prefix: streamed round trips, ranges and conditional requests,
// paths that can never leave the prefix, quotas and types, exact storage usage, multipart
// uploads bound to their tenant, and safe serving of active content.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminToken, callRaw, createTenant, json, uniqueId } from "./helpers";

const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);

async function put(token: string, path: string, body: BodyInit, type = "application/octet-stream", headers = {}) {
  return callRaw(`/v1/files/${path}`, { method: "PUT", token, body, headers: { "content-type": type, ...headers } });
}

async function setTenant(id: string, body: Record<string, unknown>) {
  const { call } = await import("./helpers");
  return call(`/v1/tenants/${id}`, { method: "PUT", token: await adminToken(), body });
}

describe("files", () => {
  it("round-trips binary content with its headers, ranges, conditionals and HEAD", async () => {
    const t = await createTenant();
    const data = bytes(3000);
    const res = await put(t.ownerToken, "reports/2026/q3.bin", data);
    const stored = await json<{ path: string; size: number; etag: string; contentType: string }>(res);
    expect(res.status).toBe(201);
    expect(stored).toMatchObject({ path: "reports/2026/q3.bin", size: 3000, contentType: "application/octet-stream" });

    const got = await callRaw("/v1/files/reports/2026/q3.bin", { token: t.ownerToken });
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(data);
    expect(got.headers.get("content-length")).toBe("3000");
    expect(got.headers.get("etag")).toBe(stored.etag);
    expect(got.headers.get("last-modified")).toBeTruthy();
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");

    const range = await callRaw("/v1/files/reports/2026/q3.bin", {
      token: t.ownerToken,
      headers: { range: "bytes=10-19" },
    });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe("bytes 10-19/3000");
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(data.slice(10, 20));

    const same = await callRaw("/v1/files/reports/2026/q3.bin", {
      token: t.ownerToken,
      headers: { "if-none-match": stored.etag },
    });
    expect(same.status).toBe(304);
    const head = await callRaw("/v1/files/reports/2026/q3.bin", { method: "HEAD", token: t.ownerToken });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("3000");
  });

  it("verifies checksums and refuses a body that does not match", async () => {
    const t = await createTenant();
    const body = new TextEncoder().encode("checked");
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", body)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    expect((await put(t.ownerToken, "ok.txt", body, "text/plain", { "x-checksum-sha256": digest })).status).toBe(201);
    const bad = await put(t.ownerToken, "bad.txt", body, "text/plain", { "x-checksum-sha256": "0".repeat(64) });
    expect(bad.status).toBe(400);
    expect((await callRaw("/v1/files/bad.txt", { token: t.ownerToken })).status).toBe(404);
  });

  it("confines every traversal and encoding variant to the tenant's prefix", async () => {
    const t = await createTenant();
    const attempts = [
      "../escape",
      "a/../../escape",
      "%2e%2e/escape",
      "%2E%2E%2Fescape",
      "a//b",
      "/abs",
      "a%5cb",
      "a%00b",
      "%c0%ae%c0%ae/escape",
      "%e0%80%ae",
      `${"x".repeat(1000)}/y`,
    ];
    for (const path of attempts) {
      const res = await put(t.ownerToken, path, "x", "text/plain");
      expect([400, 404], path).toContain(res.status);
    }
    // URL parsing removes "." segments, even encoded: "a/%2e/b" is simply "a/b", inside the prefix.
    expect((await put(t.ownerToken, "a/%2e/b", "x", "text/plain")).status).toBe(201);
    // Double encoding is decoded once: "%2e%2e" stays a literal, harmless name inside the prefix.
    expect((await put(t.ownerToken, "%252e%252e/inside", "x", "text/plain")).status).toBe(201);
    const all = await env.FILES.list({ prefix: "" });
    for (const o of all.objects) expect(o.key).toMatch(/^tenant-[a-z0-9-]+\/(files|exports|backups)\//);
    expect(all.objects.map((o) => o.key)).toContain(`tenant-${t.id}/files/%2e%2e/inside`);
    expect(all.objects.map((o) => o.key)).toContain(`tenant-${t.id}/files/a/b`);
  });

  it("never answers another tenant's file, and listings never cross tenants", async () => {
    const id = uniqueId("acme");
    const a = await createTenant(id);
    const b = await createTenant(`${id}-corp`);
    await put(a.ownerToken, "shared/name.txt", "a's", "text/plain");
    await put(b.ownerToken, "shared/other.txt", "b's", "text/plain");
    expect((await callRaw("/v1/files/shared/name.txt", { token: b.ownerToken })).status).toBe(404);
    expect((await callRaw("/v1/files/shared/name.txt", { method: "DELETE", token: b.ownerToken })).status).toBe(404);
    const listing = await json<{ items: { path: string }[]; folders: string[] }>(
      await callRaw("/v1/files?prefix=shared/", { token: a.ownerToken }),
    );
    expect(listing.items.map((f) => f.path)).toEqual(["shared/name.txt"]);
    const root = await json<{ items: unknown[]; folders: string[] }>(
      await callRaw("/v1/files?delimiter=/", { token: a.ownerToken }),
    );
    expect(root).toMatchObject({ items: [], folders: ["shared/"] });
  });

  it("lists every file under a prefix flat without a delimiter, and one level with folders with delimiter=/", async () => {
    const t = await createTenant();
    for (const p of ["docs/a.txt", "docs/sub/b.txt", "docs/sub/deep/c.txt", "docs/z.txt", "docsx.txt", "top.txt"])
      expect((await put(t.ownerToken, p, p, "text/plain")).status).toBe(201);
    type Listing = { items: { path: string }[]; folders: string[]; nextCursor: string | null };
    const paths = (l: Listing) => l.items.map((i) => i.path);

    const flat = await json<Listing>(await callRaw("/v1/files?prefix=docs/", { token: t.ownerToken }));
    expect(paths(flat)).toEqual(["docs/a.txt", "docs/sub/b.txt", "docs/sub/deep/c.txt", "docs/z.txt"]);
    expect(flat).toMatchObject({ folders: [], nextCursor: null });

    const grouped = await json<Listing>(await callRaw("/v1/files?prefix=docs/&delimiter=/", { token: t.ownerToken }));
    expect(paths(grouped)).toEqual(["docs/a.txt", "docs/z.txt"]);
    expect(grouped.folders).toEqual(["docs/sub/"]);

    const all = await json<Listing>(await callRaw("/v1/files", { token: t.ownerToken }));
    expect(paths(all)).toHaveLength(6);

    // Flat pages follow the path order with opaque cursors, each file once.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await callRaw(`/v1/files?prefix=docs/&limit=3${cursor ? `&cursor=${cursor}` : ""}`, {
        token: t.ownerToken,
      });
      const body = await json<Listing>(res);
      seen.push(...paths(body));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(paths(flat));
    expect((await callRaw("/v1/files?delimiter=-", { token: t.ownerToken })).status).toBe(400);
  });

  it("keeps the storage counter exact through overwrites and deletes, and audits them", async () => {
    const t = await createTenant();
    await put(t.ownerToken, "a", bytes(10));
    await put(t.ownerToken, "b", bytes(20));
    await put(t.ownerToken, "a", bytes(5));
    expect((await callRaw("/v1/files/b", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    await put(t.ownerToken, "c/d", bytes(7));
    const me = await json<{ usage: { storageBytes: number } }>(await callRaw("/v1/me", { token: t.ownerToken }));
    expect(me.usage.storageBytes).toBe(12);
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/files/` })).objects.map((o) => o.key).sort()).toEqual([
      `tenant-${t.id}/files/a`,
      `tenant-${t.id}/files/c/d`,
    ]);
    const audit = await json<{ items: { action: string; resource: string }[] }>(
      await callRaw("/v1/audit?limit=100", { token: t.ownerToken }),
    );
    expect(audit.items.filter((e) => e.action.startsWith("file.")).map((e) => `${e.action} ${e.resource}`)).toEqual([
      "file.upload file:a",
      "file.upload file:b",
      "file.upload file:a",
      "file.delete file:b",
      "file.upload file:c/d",
    ]);
  });

  it("refuses uploads over the storage quota, the size limit or outside the allowed types", async () => {
    const t = await createTenant();
    await setTenant(t.id, {
      limits: { maxStorageBytes: 100 },
      settings: { maxFileBytes: 80, allowedFileTypes: ["image/*", "text/plain"] },
    });
    expect((await put(t.ownerToken, "one.png", bytes(60), "image/png")).status).toBe(201);
    const over = await put(t.ownerToken, "two.png", bytes(60), "image/png");
    expect(over.status).toBe(403);
    expect(await json(over)).toMatchObject({ code: "quota_exceeded", limit: 100, current: 60 });
    expect((await put(t.ownerToken, "one.png", bytes(75), "image/png")).status).toBe(201); // replacing fits
    expect((await put(t.ownerToken, "big.png", bytes(81), "image/png")).status).toBe(413);
    const html = await put(t.ownerToken, "page.html", "<b>x</b>", "text/html");
    expect(html.status).toBe(400);
    expect((await json(html)).code).toBe("validation_failed");
  });

  it("serves active content as an attachment and safe types inline, always nosniff", async () => {
    const t = await createTenant();
    for (const [path, type, disposition] of [
      ["x.html", "text/html", "attachment"],
      ["x.svg", "image/svg+xml", "attachment"],
      ["x.js", "application/javascript", "attachment"],
      ["x.xml", "application/xml", "attachment"],
      ["x.png", "image/png", "inline"],
      ["x.txt", "text/plain", "inline"],
    ]) {
      await put(t.ownerToken, path as string, "<svg onload=alert(1)>", type as string);
      const res = await callRaw(`/v1/files/${path}`, { token: t.ownerToken });
      expect(res.headers.get("content-disposition"), path).toMatch(new RegExp(`^${disposition};`));
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("uploads in parts, and refuses another tenant's upload id", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const start = await callRaw("/v1/files/big/video.bin?uploads", {
      method: "POST",
      token: a.ownerToken,
      headers: { "x-file-content-type": "application/octet-stream" },
    });
    const { uploadId } = await json<{ uploadId: string }>(start);
    expect(start.status).toBe(201);
    const partA = bytes(5 * 1024 * 1024, 1);
    const partB = bytes(1000, 2);
    const p1 = await json<{ etag: string }>(
      await put(a.ownerToken, `big/video.bin?uploadId=${encodeURIComponent(uploadId)}&partNumber=1`, partA),
    );
    const foreign = await put(
      b.ownerToken,
      `big/video.bin?uploadId=${encodeURIComponent(uploadId)}&partNumber=2`,
      partB,
    );
    expect(foreign.status).toBe(404);
    const p2 = await json<{ etag: string }>(
      await put(a.ownerToken, `big/video.bin?uploadId=${encodeURIComponent(uploadId)}&partNumber=2`, partB),
    );
    const done = await callRaw(`/v1/files/big/video.bin?uploadId=${encodeURIComponent(uploadId)}`, {
      method: "POST",
      token: a.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        parts: [
          { partNumber: 1, etag: p1.etag },
          { partNumber: 2, etag: p2.etag },
        ],
      }),
    });
    expect(done.status, await done.clone().text()).toBe(201);
    expect((await json<{ size: number }>(done)).size).toBe(partA.length + partB.length);
    const me = await json<{ usage: { storageBytes: number } }>(await callRaw("/v1/me", { token: a.ownerToken }));
    expect(me.usage.storageBytes).toBe(partA.length + partB.length);
    const bad = await put(a.ownerToken, `big/video.bin?uploadId=${encodeURIComponent(uploadId)}&partNumber=0`, partB);
    expect(bad.status).toBe(400);
  });

  it("needs files:write to upload and files:read to read", async () => {
    const t = await createTenant(undefined, "alice", { settings: { autoJoinRole: "viewer" } });
    await put(t.ownerToken, "doc.txt", "hello", "text/plain");
    const { userToken } = await import("./helpers");
    const viewer = await userToken(t.id, "vic");
    expect((await callRaw("/v1/files/doc.txt", { token: viewer })).status).toBe(200);
    expect((await put(viewer, "nope.txt", "x", "text/plain")).status).toBe(403);
    expect((await callRaw("/v1/files/doc.txt", { method: "DELETE", token: viewer })).status).toBe(403);
  });
});
