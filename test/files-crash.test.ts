// A file write cut in two by a crash (the runtime dying between R2 and the catalogue, as
// `npm run soak` does with SIGKILL): the object started again settles the path, so the catalogue
// and R2 tell the same story. The crash is simulated by doing the Worker's first half by hand
// and evicting the object (its memory goes, its storage stays).

import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Caller } from "../durable-objects/contract/caller";
import { CHUNK, formatSealing, SEALING_META, sealBytes } from "../durable-objects/storage/object-seal";
import { call, callRaw, createTenant, json } from "./helpers";

const owner = (sub: string): Caller => ({ kind: "user", sub, tokenRoles: null, reason: null, requestId: "crash-test" });
const keyOf = (tenant: string, path: string) => `tenant-${tenant}/files/${path}`;

async function listed(token: string) {
  return (
    await json<{ items: { path: string; size: number; etag: string; sha256: string | null }[] }>(
      await call("/v1/files", { token }),
    )
  ).items;
}

async function auditActions(token: string) {
  const res = await json<{ items: { action: string; actor: string; resource: string }[] }>(
    await call("/v1/audit?limit=1000", { token }),
  );
  return res.items.filter((e) => e.resource.startsWith("file:")).map((e) => `${e.action} ${e.actor}`);
}

describe("file writes cut by a crash", () => {
  it("an upload that reached R2 but not the catalogue is recorded when the object starts again", async () => {
    const t = await createTenant();
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    const admitted = await stub.fileBeginUpload(owner(t.owner), { path: "a.txt", contentType: "text/plain", size: 5 });
    expect(admitted.ok).toBe(true);
    const object = await env.FILES.put(keyOf(t.id, "a.txt"), "hello", { httpMetadata: { contentType: "text/plain" } });
    await evictDurableObject(stub); // the crash: no commit ever comes

    const files = await listed(t.ownerToken);
    expect(files).toMatchObject([{ path: "a.txt", size: 5, etag: object?.httpEtag }]);
    const head = await callRaw("/v1/files/a.txt", { method: "HEAD", token: t.ownerToken });
    expect(head.headers.get("etag")).toBe(object?.httpEtag);
    expect(await auditActions(t.ownerToken)).toEqual(["file.upload system:recovery"]);
    const usage = await json<{ usage: { storageBytes: number } }>(await call("/v1/me", { token: t.ownerToken }));
    expect(usage.usage.storageBytes).toBe(5);
  });

  it("a sealed upload that reached R2 but not the catalogue is recorded with its plaintext's ETag and SHA-256", async () => {
    const t = await createTenant();
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    const plain = new TextEncoder().encode("sealed bytes, never committed");
    const admitted = await stub.fileBeginUpload(owner(t.owner), {
      path: "s.txt",
      contentType: "text/plain",
      size: plain.byteLength,
    });
    if (!admitted.ok) throw new Error("not admitted");
    // The Worker's first half of a sealed upload, by hand: bytes sealed under the object's key.
    const { seal } = admitted.value;
    const size = plain.byteLength;
    const sealing = formatSealing({ keyId: seal.keyId, salt: seal.salt, chunk: CHUNK, partSize: size, parts: 1, size });
    await env.FILES.put(keyOf(t.id, "s.txt"), sealBytes(Buffer.from(seal.key, "base64"), plain), {
      httpMetadata: { contentType: "text/plain" },
      customMetadata: { [SEALING_META]: sealing },
    });
    await evictDurableObject(stub); // the crash: no commit ever comes

    const md5 = createHash("md5").update(plain).digest("hex");
    const sha256 = createHash("sha256").update(plain).digest("hex");
    const [file] = await listed(t.ownerToken);
    expect(file).toMatchObject({ path: "s.txt", size, etag: `"${md5}"`, sha256 });
    const read = await callRaw("/v1/files/s.txt", { token: t.ownerToken });
    expect(read.headers.get("etag")).toBe(`"${md5}"`);
    expect(await read.text()).toBe("sealed bytes, never committed");
  });

  it("an overwrite that replaced the bytes but not the row: the row is brought to the bytes R2 holds", async () => {
    const t = await createTenant();
    const put = await callRaw("/v1/files/b.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "first",
      headers: { "content-type": "text/plain" },
    });
    expect(put.status).toBe(201);
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    await stub.fileBeginUpload(owner(t.owner), { path: "b.txt", contentType: "text/plain", size: 12 });
    const second = await env.FILES.put(keyOf(t.id, "b.txt"), "second bytes", {
      httpMetadata: { contentType: "text/plain" },
    });
    await evictDurableObject(stub);

    expect(await listed(t.ownerToken)).toMatchObject([{ path: "b.txt", size: 12, etag: second?.httpEtag }]);
    expect(await (await callRaw("/v1/files/b.txt", { token: t.ownerToken })).text()).toBe("second bytes");
  });

  it("a delete that removed the row but not the object: the object goes when the object starts again", async () => {
    const t = await createTenant();
    await callRaw("/v1/files/c.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "bye",
      headers: { "content-type": "text/plain" },
    });
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    expect((await stub.fileDelete(owner(t.owner), "c.txt")).ok).toBe(true);
    expect(await env.FILES.head(keyOf(t.id, "c.txt"))).not.toBeNull(); // the crash: R2 still has it
    await evictDurableObject(stub);

    expect(await listed(t.ownerToken)).toEqual([]);
    expect(await env.FILES.head(keyOf(t.id, "c.txt"))).toBeNull();
  });

  it("uploads and deletes that finished leave nothing to settle", async () => {
    const t = await createTenant();
    await callRaw("/v1/files/d.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "kept",
      headers: { "content-type": "text/plain" },
    });
    await callRaw("/v1/files/e.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "gone",
      headers: { "content-type": "text/plain" },
    });
    expect((await callRaw("/v1/files/e.txt", { method: "DELETE", token: t.ownerToken })).status).toBe(200);
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    await evictDurableObject(stub);

    expect((await listed(t.ownerToken)).map((f) => f.path)).toEqual(["d.txt"]);
    expect(await auditActions(t.ownerToken)).toEqual([
      `file.upload user:${t.owner}`,
      `file.upload user:${t.owner}`,
      `file.delete user:${t.owner}`,
    ]);
  });
});
