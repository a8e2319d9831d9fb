// File paths and the tenant storage handle: every traversal and encoding variant is refused or
// stays under "tenant-{id}/files/", prefixes never collide (acme vs acme-corp), and the edge
// cases of ranges, cursors and multipart sizes answer clearly.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkFilePath, filePathFromUrl, MAX_PATH_BYTES, unsafeFilePath } from "../durable-objects/storage/file-path";
import { purgeTenantObjects, tenantPrefix, tenantStorage } from "../durable-objects/storage/tenant-storage";
import { adminToken, call, callRaw, createTenant, json, uniqueId } from "./helpers";

/** Every key R2 holds, across all tenants. */
async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.FILES.list({ cursor, limit: 1000 });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

describe("file path validation", () => {
  it("accepts ordinary nested and Unicode paths", () => {
    for (const path of ["a.txt", "reports/2026/q3.pdf", "日本/資料.txt", "with space/and+plus", "%2e%2e"]) {
      expect(checkFilePath(path), path).toEqual({ ok: true, path });
    }
  });

  it("refuses dot, empty and absolute segments, backslashes and control characters", () => {
    for (const path of [
      "",
      "..",
      ".",
      "../x",
      "a/../../x",
      "a/./b",
      "a//b",
      "a/",
      "/etc/passwd",
      "a\\..\\b",
      "a\u0000b",
      "a\nb",
      "a\u007fb",
      "a\u0085b",
    ]) {
      expect(checkFilePath(path).ok, JSON.stringify(path)).toBe(false);
    }
  });

  it("decodes a URL path once and strictly: encoded traversal and overlong UTF-8 are refused", () => {
    for (const raw of [
      "%2e%2e/x",
      "%2E%2E%2Fx",
      "a/%2e%2e%2f%2e%2e%2fx",
      "..%2fx",
      "%2fetc",
      "a%5c..%5cb",
      "a%00b",
      "%c0%ae%c0%ae/x", // overlong "."
      "%c0%af", // overlong "/"
      "%e0%80%ae",
      "%ed%a0%80", // a lone surrogate
      "%zz",
    ]) {
      expect(filePathFromUrl(raw).ok, raw).toBe(false);
    }
    // Decoded once: "%252e%252e" is the literal name "%2e%2e", which is a file name, not a parent.
    expect(filePathFromUrl("%252e%252e/x")).toEqual({ ok: true, path: "%2e%2e/x" });
    expect(filePathFromUrl("dir/caf%C3%A9.txt")).toEqual({ ok: true, path: "dir/café.txt" });
  });

  it("keeps every key within R2's 1,024 bytes under the longest tenant prefix", () => {
    const longest = tenantPrefix("a".repeat(40));
    expect(checkFilePath("a".repeat(MAX_PATH_BYTES)).ok).toBe(true);
    expect(checkFilePath("a".repeat(MAX_PATH_BYTES + 1)).ok).toBe(false);
    // Multi-byte characters count in bytes, not characters.
    expect(checkFilePath("é".repeat(MAX_PATH_BYTES / 2 + 1)).ok).toBe(false);
    expect(new TextEncoder().encode(`${longest}files/${"a".repeat(MAX_PATH_BYTES)}`).length).toBe(1024);
    expect(() => unsafeFilePath("../x")).toThrow();
  });

  it("never builds a key for something that is not a tenant id", () => {
    for (const id of ["", "../x", "acme/..", "ACME", "a"]) {
      expect(() => tenantPrefix(id), id).toThrow();
    }
  });
});

describe("the tenant storage handle", () => {
  it("keeps tenants whose ids share a prefix apart, in keys and in the purge", async () => {
    const base = uniqueId("acme");
    const near = `${base}-corp`;
    await tenantStorage(env.FILES, base).putStoredFile("a.txt", "mine", "text/plain");
    await tenantStorage(env.FILES, near).putStoredFile("a.txt", "theirs", "text/plain");
    expect(await (await tenantStorage(env.FILES, base).getStoredFile("a.txt"))?.text()).toBe("mine");
    const purged = await purgeTenantObjects(env.FILES, base, 5);
    expect(purged).toEqual({ complete: true, deleted: 1 });
    expect(await tenantStorage(env.FILES, base).getStoredFile("a.txt")).toBeNull();
    expect(await (await tenantStorage(env.FILES, near).getStoredFile("a.txt"))?.text()).toBe("theirs");
  });
});

describe("files over HTTP: edges", () => {
  it("stores hostile request paths only under the tenant's own files prefix, or refuses them", async () => {
    const t = await createTenant();
    const variants = [
      "..%2f..%2fx",
      "%2e%2e%2f%2e%2e%2fx",
      "%252e%252e%252fx",
      "a/%2e%2e/%2e%2e/%2e%2e/x",
      "%c0%ae%c0%ae%c0%af",
      "a%5c..%5c..%5cx",
      "a%00b",
      "%2f%2fx",
    ];
    for (const v of variants) {
      const res = await callRaw(`/v1/files/${v}`, {
        method: "PUT",
        token: t.ownerToken,
        body: "x",
        headers: { "content-type": "text/plain" },
      });
      // The URL parser may resolve a literal dot segment before routing (404/400); what passes is
      // a plain file name inside the prefix.
      expect([201, 400, 404], v).toContain(res.status);
    }
    const outside = (await allKeys()).filter((k) => k.includes(`tenant-${t.id}`) || !k.startsWith("tenant-"));
    for (const key of outside) expect(key.startsWith(`tenant-${t.id}/files/`), key).toBe(true);
    const listed = await json<{ items: { path: string }[]; folders: string[] }>(
      await callRaw("/v1/files", { token: t.ownerToken }),
    );
    for (const path of [...listed.items.map((i) => i.path), ...listed.folders]) {
      expect(
        path.split("/").every((s) => s !== ".." && s !== "."),
        path,
      ).toBe(true);
    }
  });

  it("answers 416 for a range outside the file and serves suffix ranges", async () => {
    const t = await createTenant();
    await callRaw("/v1/files/r.bin", { method: "PUT", token: t.ownerToken, body: "0123456789" });
    const beyond = await callRaw("/v1/files/r.bin", { token: t.ownerToken, headers: { range: "bytes=50-60" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */10");
    const suffix = await callRaw("/v1/files/r.bin", { token: t.ownerToken, headers: { range: "bytes=-3" } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get("content-range")).toBe("bytes 7-9/10");
    expect(await suffix.text()).toBe("789");
    const open = await callRaw("/v1/files/r.bin", { token: t.ownerToken, headers: { range: "bytes=8-" } });
    expect(await open.text()).toBe("89");
    const several = await callRaw("/v1/files/r.bin", { token: t.ownerToken, headers: { range: "bytes=0-1,4-5" } });
    expect(several.status).toBe(200);
    expect(await several.text()).toBe("0123456789");
  });

  it("pages through Unicode paths and folders with opaque cursors", async () => {
    const t = await createTenant();
    const paths = ["z.txt", "é.txt", "日本/a.txt", "日本/b.txt", "日本語.txt"];
    for (const p of paths) {
      const res = await callRaw(`/v1/files/${p.split("/").map(encodeURIComponent).join("/")}`, {
        method: "PUT",
        token: t.ownerToken,
        body: p,
        headers: { "content-type": "text/plain" },
      });
      expect(res.status, p).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await callRaw(`/v1/files?delimiter=/&limit=1${cursor ? `&cursor=${cursor}` : ""}`, {
        token: t.ownerToken,
      });
      expect(res.status).toBe(200);
      const body = await json<{ items: { path: string }[]; folders: string[]; nextCursor: string | null }>(res);
      seen.push(...body.items.map((i) => i.path), ...body.folders);
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(["z.txt", "é.txt", "日本/", "日本語.txt"]);
    const bad = await callRaw("/v1/files?cursor=%25%25%25", { token: t.ownerToken });
    expect(bad.status).toBe(400);
  });

  it("applies the file-size limit to a multipart upload before R2 completes it: the earlier file stays", async () => {
    const t = await createTenant();
    const admin = await adminToken();
    const limited = await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: admin,
      body: { settings: { maxFileBytes: 6 * 1024 * 1024 } },
    });
    expect(limited.status).toBe(200);
    await callRaw("/v1/files/big.bin", { method: "PUT", token: t.ownerToken, body: "old" });
    const start = await callRaw("/v1/files/big.bin?uploads", { method: "POST", token: t.ownerToken });
    const { uploadId } = await json<{ uploadId: string }>(start);
    const part = new Uint8Array(5 * 1024 * 1024);
    const q = (n: number) => `/v1/files/big.bin?uploadId=${encodeURIComponent(uploadId)}&partNumber=${n}`;
    const parts = [];
    for (const n of [1, 2]) {
      const res = await callRaw(q(n), { method: "PUT", token: t.ownerToken, body: part });
      parts.push({ partNumber: n, etag: (await json<{ etag: string }>(res)).etag });
    }
    const done = await callRaw(`/v1/files/big.bin?uploadId=${encodeURIComponent(uploadId)}`, {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ parts }),
    });
    expect(done.status).toBe(413);
    expect((await json<{ code: string }>(done)).code).toBe("payload_too_large");
    // Refused before R2 assembled anything: the file at the path is the earlier one, whole.
    const kept = await callRaw("/v1/files/big.bin", { token: t.ownerToken });
    expect(kept.status).toBe(200);
    expect(await kept.text()).toBe("old");
    const me = await json<{ usage: { storageBytes: number } }>(await callRaw("/v1/me", { token: t.ownerToken }));
    expect(me.usage.storageBytes).toBe(3);
    // The upload is still open: once the limit allows it, the same parts complete.
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: admin,
      body: { settings: { maxFileBytes: 20 * 1024 * 1024 } },
    });
    const again = await callRaw(`/v1/files/big.bin?uploadId=${encodeURIComponent(uploadId)}`, {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ parts }),
    });
    expect(again.status, await again.clone().text()).toBe(201);
    const read = await callRaw("/v1/files/big.bin", { token: t.ownerToken });
    expect((await read.arrayBuffer()).byteLength).toBe(10 * 1024 * 1024);
  });
});
