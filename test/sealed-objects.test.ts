// Every byte a tenant keeps in R2 is sealed under its data key (DESIGN §7): raw objects hold no
// plaintext, ranges across chunk and part boundaries open exactly, clients see the plaintext's
// size and ETag, a tampered or swapped chunk is an error (never other bytes), and after the hard
// delete destroys the key nothing that is left opens.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { unwrapDataKey } from "../durable-objects/contract/wrapped-key";
import {
  type ObjectKeys,
  objectKeysOf,
  openStream,
  parseSealing,
  SEALING_META,
} from "../durable-objects/storage/object-seal";
import { hardDeleteTenant } from "../src/control/tenant-deletion";
import { getTenant } from "../src/control/tenant-service";
import { create, tenantWithNotes } from "./data-helpers";
import { adminToken, call, callRaw, createTenant, json } from "./helpers";

const MARKER = "PLAINTEXT-MARKER-7f3a";
const stubOf = (tenant: string) => env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
const fileKey = (tenant: string, path: string) => `tenant-${tenant}/files/${path}`;

/** `n` bytes with the marker repeated through them, so any plaintext chunk would show it. */
function marked(n: number): Uint8Array {
  const text = new TextEncoder().encode(`${MARKER} `);
  return Uint8Array.from({ length: n }, (_, i) => (i % 997 < text.length ? (text[i % 997] as number) : (i * 31) % 251));
}
const holdsMarker = (bytes: Uint8Array) => new TextDecoder("latin1").decode(bytes).includes(MARKER);

async function md5Hex(bytes: Uint8Array) {
  const digest = await crypto.subtle.digest("MD5", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function put(token: string, path: string, body: Uint8Array) {
  const res = await callRaw(`/v1/files/${path}`, {
    method: "PUT",
    token,
    body,
    headers: { "content-type": "application/octet-stream" },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<{ size: number; etag: string }>(res);
}

const raw = async (key: string) => new Uint8Array(await ((await env.FILES.get(key)) as R2ObjectBody).arrayBuffer());

/** Opens raw sealed bytes with the given keys, as anyone holding them could. */
async function openRaw(keys: ObjectKeys, key: string, bytes: Uint8Array, descriptor: string, tenant: string) {
  const sealing = parseSealing(descriptor);
  if (!sealing) throw new Error("not sealed");
  const objectKey = keys.objectKey(
    sealing.keyId,
    Buffer.from(sealing.salt, "base64url"),
    key.slice(`tenant-${tenant}/`.length),
  );
  const stream = await openStream(objectKey, sealing, new Blob([bytes]).stream(), null);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function tenantKeys(tenant: string): Promise<ObjectKeys> {
  const row = await getTenant(env, tenant);
  const wrapped = [row.wrappedKey ?? "", ...row.retiredKeys].filter(Boolean);
  return objectKeysOf(wrapped.map((w) => unwrapDataKey(env, w)));
}

async function drive(tenant: string, path: string) {
  const token = await adminToken();
  for (let i = 0; i < 200; i++) {
    const job = await json<{ id: string; status: string; error: string | null; parts: { name: string }[] }>(
      await call(path, { token }),
    );
    if (job.status === "completed" || job.status === "failed") return job;
    await runDurableObjectAlarm(stubOf(tenant));
  }
  throw new Error("job did not finish");
}

describe("sealed objects in R2", () => {
  it("stores a file as ciphertext, while clients see the plaintext's size, ETag and preconditions", async () => {
    const t = await createTenant();
    const data = marked(200_000); // four chunks, the last partial
    const stored = await put(t.ownerToken, "docs/a.bin", data);
    expect(stored.size).toBe(data.length);
    expect(stored.etag).toBe(`"${await md5Hex(data)}"`);

    const object = (await env.FILES.head(fileKey(t.id, "docs/a.bin"))) as R2Object;
    expect(object.customMetadata?.[SEALING_META]).toMatch(/^s1\./);
    expect(object.size).toBe(data.length + 4 * 16);
    const bytes = await raw(fileKey(t.id, "docs/a.bin"));
    expect(holdsMarker(data)).toBe(true);
    expect(holdsMarker(bytes)).toBe(false);

    const got = await callRaw("/v1/files/docs/a.bin", { token: t.ownerToken });
    expect(got.headers.get("etag")).toBe(stored.etag);
    expect(got.headers.get("content-length")).toBe(String(data.length));
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(data);
    const head = await callRaw("/v1/files/docs/a.bin", { method: "HEAD", token: t.ownerToken });
    expect([head.headers.get("etag"), head.headers.get("content-length")]).toEqual([stored.etag, "200000"]);
    const listed = await json<{ items: { size: number; etag: string }[] }>(
      await call("/v1/files?prefix=docs/", { token: t.ownerToken }),
    );
    expect(listed.items[0]).toMatchObject({ size: data.length, etag: stored.etag });
    const me = await json<{ usage: { storageBytes: number } }>(await call("/v1/me", { token: t.ownerToken }));
    expect(me.usage.storageBytes).toBe(data.length);

    const cached = await callRaw("/v1/files/docs/a.bin", {
      token: t.ownerToken,
      headers: { "if-none-match": stored.etag },
    });
    expect(cached.status).toBe(304);
    const stale = await callRaw("/v1/files/docs/a.bin", { token: t.ownerToken, headers: { "if-match": '"other"' } });
    expect(stale.status).toBe(412);
    const fresh = await callRaw("/v1/files/docs/a.bin", {
      token: t.ownerToken,
      headers: { "if-match": stored.etag, range: "bytes=0-9" },
    });
    expect(fresh.status).toBe(206);
  });

  it("opens only the chunks a range needs, exactly, across chunk boundaries", async () => {
    const t = await createTenant();
    const data = marked(3 * 65536 + 1234);
    await put(t.ownerToken, "r.bin", data);
    const ranges: [string, number, number][] = [
      ["bytes=65530-65545", 65530, 65546],
      ["bytes=0-65535", 0, 65536],
      ["bytes=65536-131071", 65536, 131072],
      ["bytes=131000-197000", 131000, 197001],
      ["bytes=-100", data.length - 100, data.length],
      ["bytes=196600-", 196600, data.length],
      ["bytes=7-7", 7, 8],
    ];
    for (const [header, from, to] of ranges) {
      const res = await callRaw("/v1/files/r.bin", { token: t.ownerToken, headers: { range: header } });
      expect(res.status, header).toBe(206);
      expect(res.headers.get("content-range"), header).toBe(`bytes ${from}-${to - 1}/${data.length}`);
      expect(res.headers.get("content-length"), header).toBe(String(to - from));
      expect(new Uint8Array(await res.arrayBuffer()), header).toEqual(data.slice(from, to));
    }
  });

  it("seals multipart uploads part by part: whole reads, ranges across the part boundary, the plaintext ETag", async () => {
    const t = await createTenant();
    const first = marked(5 * 1024 * 1024);
    const second = marked(70_000).map((b) => b ^ 1);
    const start = await json<{ uploadId: string }>(
      await callRaw("/v1/files/big.bin?uploads", { method: "POST", token: t.ownerToken }),
    );
    const q = `uploadId=${encodeURIComponent(start.uploadId)}`;
    const etags: string[] = [];
    for (const [i, part] of [first, second].entries()) {
      const res = await callRaw(`/v1/files/big.bin?${q}&partNumber=${i + 1}`, {
        method: "PUT",
        token: t.ownerToken,
        body: part,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      etags.push((await json<{ etag: string }>(res)).etag);
    }
    const done = await callRaw(`/v1/files/big.bin?${q}`, {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) }),
    });
    expect(done.status, await done.clone().text()).toBe(201);
    const whole = new Uint8Array([...first, ...second]);
    const md5s = await Promise.all([first, second].map(md5Hex));
    const all = await crypto.subtle.digest(
      "MD5",
      Uint8Array.from(
        md5s.flatMap((m) => m.match(/../g) ?? []),
        (h) => parseInt(h, 16),
      ),
    );
    const expected = `"${Array.from(new Uint8Array(all), (b) => b.toString(16).padStart(2, "0")).join("")}-2"`;
    expect(await json<{ size: number; etag: string }>(done)).toMatchObject({ size: whole.length, etag: expected });

    expect(holdsMarker(await raw(fileKey(t.id, "big.bin")))).toBe(false);
    const got = await callRaw("/v1/files/big.bin", { token: t.ownerToken });
    expect(got.headers.get("etag")).toBe(expected);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(whole);
    const from = first.length - 100;
    const ranged = await callRaw("/v1/files/big.bin", {
      token: t.ownerToken,
      headers: { range: `bytes=${from}-${from + 65_999}` },
    });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(whole.slice(from, from + 66_000));
  });

  it("answers an error, never other bytes, for a tampered or swapped chunk", async () => {
    const t = await createTenant();
    const data = marked(3 * 65536);
    await put(t.ownerToken, "t.bin", data);
    const key = fileKey(t.id, "t.bin");
    const head = (await env.FILES.head(key)) as R2Object;
    const bytes = await raw(key);
    const rewrite = (body: Uint8Array) =>
      env.FILES.put(key, body, { httpMetadata: head.httpMetadata, customMetadata: head.customMetadata });
    const sealed = 65536 + 16;

    // Chunks 0 and 1 swapped: each authenticates only at its own index.
    const swapped = new Uint8Array(bytes);
    swapped.set(bytes.subarray(sealed, 2 * sealed), 0);
    swapped.set(bytes.subarray(0, sealed), sealed);
    await rewrite(swapped);
    const first = await callRaw("/v1/files/t.bin", { token: t.ownerToken, headers: { range: "bytes=0-99" } });
    expect(first.status).toBe(500);
    expect(await first.text()).not.toContain(MARKER);
    expect((await callRaw("/v1/files/t.bin", { token: t.ownerToken })).status).toBe(500);

    // One bit flipped in the last chunk: its range errors, the intact chunks still open.
    const flipped = new Uint8Array(bytes);
    flipped[2 * sealed + 10] = (flipped[2 * sealed + 10] as number) ^ 0x40;
    await rewrite(flipped);
    const last = await callRaw("/v1/files/t.bin", { token: t.ownerToken, headers: { range: `bytes=${2 * 65536}-` } });
    expect(last.status).toBe(500);
    const intact = await callRaw("/v1/files/t.bin", { token: t.ownerToken, headers: { range: "bytes=0-65535" } });
    expect(new Uint8Array(await intact.arrayBuffer())).toEqual(data.slice(0, 65536));
    // A whole read has answered 200 by the time it reaches the bad chunk: the body then fails.
    const whole = await callRaw("/v1/files/t.bin", { token: t.ownerToken });
    expect(whole.status).toBe(200);
    const read = await whole.arrayBuffer().then(
      (b) => new Uint8Array(b),
      () => null,
    );
    expect(read === null || read.length < data.length).toBe(true);

    // Cut short by its last chunk: the object no longer matches its layout.
    await rewrite(bytes.subarray(0, 2 * sealed));
    const cut = await callRaw("/v1/files/t.bin", { token: t.ownerToken, headers: { range: `bytes=${2 * 65536}-` } });
    expect(cut.status).toBe(500);
  });

  it("seals export and backup parts; downloads open them; nothing left opens after the hard delete", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: MARKER, body: `${MARKER} body` });
    const file = marked(100_000);
    await put(t.ownerToken, "keep.bin", file);
    const started = await json<{ id: string }>(
      await call(`/v1/tenants/${t.id}/backups`, { method: "POST", token: await adminToken() }),
    );
    const backup = await drive(t.id, `/v1/tenants/${t.id}/exports/${started.id}`);
    expect(backup.status, backup.error ?? "").toBe("completed");

    // Every object under the tenant's prefix is sealed and holds no plaintext.
    const listed = await env.FILES.list({ prefix: `tenant-${t.id}/`, include: ["customMetadata"] });
    const copies = new Map<string, { bytes: Uint8Array; descriptor: string }>();
    for (const o of listed.objects) {
      const bytes = await raw(o.key);
      expect(holdsMarker(bytes), o.key).toBe(false);
      expect(o.customMetadata?.[SEALING_META], o.key).toMatch(/^s1\./);
      copies.set(o.key, { bytes, descriptor: o.customMetadata?.[SEALING_META] as string });
    }
    const partNames = [...copies.keys()].map((k) => k.split("/").slice(3).join("/"));
    expect(partNames).toEqual(expect.arrayContaining(["manifest.json", "settings.json"]));
    expect([...copies.keys()].some((k) => k.includes("/backups/") && k.includes("/blobs/"))).toBe(true);

    // The download endpoint answers the plaintext part.
    const records = backup.parts.find((p) => p.name.startsWith("records/")) as { name: string };
    const part = await call(
      `/v1/tenants/${t.id}/exports/${started.id}/download?part=${encodeURIComponent(records.name)}`,
      { token: await adminToken() },
    );
    expect(part.status).toBe(200);
    expect(await part.text()).toContain(MARKER);

    // Copies taken before the delete open with the tenant's key (the check below is sound)...
    const keys = await tenantKeys(t.id);
    const blobKey = [...copies.keys()].find((k) => k.includes("/blobs/")) as string;
    const blob = copies.get(blobKey) as { bytes: Uint8Array; descriptor: string };
    expect(await openRaw(keys, blobKey, blob.bytes, blob.descriptor, t.id)).toEqual(file);

    await call(`/v1/tenants/${t.id}`, { method: "DELETE", token: await adminToken() });
    expect((await hardDeleteTenant(env, await getTenant(env, t.id))).complete).toBe(true);
    expect((await env.FILES.list({ prefix: `tenant-${t.id}/` })).objects).toHaveLength(0);

    // ...and after it, with everything that is left, none does: the registry keeps no key, and a
    // guess of the key (the master key itself) fails to authenticate.
    const row = await getTenant(env, t.id);
    expect([row.wrappedKey, row.retiredKeys]).toEqual([null, []]);
    const left = await tenantKeys(t.id);
    const guess = objectKeysOf([Buffer.from(env.MASTER_KEY ?? "", "base64")]);
    for (const [key, copy] of copies) {
      await expect(openRaw(left, key, copy.bytes, copy.descriptor, t.id), key).rejects.toThrow();
      const sealing = parseSealing(copy.descriptor);
      const forged = formatGuess(copy.descriptor, guess.keyId);
      if (sealing) await expect(openRaw(guess, key, copy.bytes, forged, t.id), key).rejects.toThrow();
    }
  });

  it("still reads a file stored in clear before sealing (no descriptor), whole and by range", async () => {
    const t = await createTenant();
    const data = marked(70_000);
    const object = (await env.FILES.put(fileKey(t.id, "old.bin"), data)) as R2Object;
    await runInDurableObject(stubOf(t.id), (_i, state) => {
      state.storage.sql.exec(
        "INSERT INTO files (path, size, content_type, etag, sha256, uploaded_by, created_at, updated_at) VALUES ('old.bin', ?, 'application/octet-stream', ?, NULL, 'alice', 'now', 'now')",
        data.length,
        object.httpEtag,
      );
    });
    const got = await callRaw("/v1/files/old.bin", { token: t.ownerToken });
    expect(got.headers.get("etag")).toBe(object.httpEtag);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(data);
    const ranged = await callRaw("/v1/files/old.bin", { token: t.ownerToken, headers: { range: "bytes=65530-65545" } });
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(data.slice(65530, 65546));
    // Its preconditions: a malformed entity tag is a 400 (R2 would throw on it), as on sealed files.
    const ask = (headers: Record<string, string>) => callRaw("/v1/files/old.bin", { token: t.ownerToken, headers });
    const malformed: Record<string, string>[] = [
      { "if-match": "abc" },
      { "if-none-match": '"unclosed' },
      { "if-match": 'W/x"' },
    ];
    for (const headers of malformed) {
      const res = await ask(headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect((await json<{ code: string }>(res)).code).toBe("validation_failed");
    }
    expect((await ask({ "if-match": '"other"' })).status).toBe(412);
    expect((await ask({ "if-none-match": object.httpEtag })).status).toBe(304);
    expect((await ask({ "if-match": `"x", ${object.httpEtag}` })).status).toBe(200);
    const sealed = await callRaw("/v1/files/new.txt", {
      method: "PUT",
      token: t.ownerToken,
      body: "new",
      headers: { "content-type": "text/plain" },
    });
    expect(sealed.status).toBe(201);
    const bad = await callRaw("/v1/files/new.txt", { token: t.ownerToken, headers: { "if-match": "abc" } });
    expect(bad.status).toBe(400);
  });

  it("a data key rotation seals every object anew before the old key is destroyed", async () => {
    const t = await tenantWithNotes();
    const data = marked(150_000);
    const stored = await put(t.ownerToken, "rot.bin", data);
    const started = await json<{ id: string }>(
      await call(`/v1/tenants/${t.id}/backups`, { method: "POST", token: await adminToken() }),
    );
    expect((await drive(t.id, `/v1/tenants/${t.id}/exports/${started.id}`)).status).toBe("completed");
    const keyIds = async () => {
      const listed = await env.FILES.list({ prefix: `tenant-${t.id}/`, include: ["customMetadata"] });
      return new Set(listed.objects.map((o) => parseSealing(o.customMetadata?.[SEALING_META])?.keyId));
    };
    const before = await keyIds();
    expect(before.size).toBe(1);

    const token = await adminToken();
    const rotation = await json<{ job: { id: string } }>(
      await call(`/v1/tenants/${t.id}/rotate-key`, { method: "POST", token, body: { mode: "data" } }),
    );
    expect((await drive(t.id, `/v1/tenants/${t.id}/exports/${rotation.job.id}`)).status).toBe("completed");
    expect((await json<{ complete: boolean }>(await call(`/v1/tenants/${t.id}/rotate-key`, { token }))).complete).toBe(
      true,
    );
    const after = await keyIds();
    expect(after.size).toBe(1);
    expect([...after][0]).not.toBe([...before][0]);

    // The old key is gone; everything still opens, with the plaintext's ETag.
    const got = await callRaw("/v1/files/rot.bin", { token: t.ownerToken });
    expect(got.headers.get("etag")).toBe(stored.etag);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(data);
    const manifest = await call(`/v1/tenants/${t.id}/exports/${started.id}/download`, { token });
    expect(manifest.status).toBe(200);
    expect(await manifest.json()).toMatchObject({ kind: "backup" });
  });
});

/** The descriptor with its key id replaced, so the guessed key is tried on the bytes. */
const formatGuess = (descriptor: string, keyId: string) => descriptor.replace(/^s1\.[^.]+\./, `s1.${keyId}.`);
