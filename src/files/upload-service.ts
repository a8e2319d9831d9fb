// The upload service: the tenant's object admits an upload (permission, type, size, quota) and
// reserves its bytes, the Worker streams them to R2, then the object commits the catalogue row;
// whatever the object refuses after R2 has the bytes is removed again, so a catalogue row and an
// object in R2 always go together.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ObjectSeal } from "../../durable-objects/contract/files";
import type { FilePath } from "../../durable-objects/storage/file-path";
import {
  CHUNK,
  formatSealing,
  multipartEtag,
  SEALING_META,
  type SealedBody,
  sealedLength,
  sealStream,
} from "../../durable-objects/storage/object-seal";
import { type TenantStorage, tenantStorage } from "../../durable-objects/storage/tenant-storage";
import type { AppEnv } from "../context";
import { ApiError, invalid, notFound } from "../errors";
import { type TenantClient, tenantClient } from "../tenant-client";

/** What the route read from the HTTP request of an upload. */
export interface UploadRequest {
  size: number;
  contentType: string;
  metadata: Record<string, string>;
  checksums: { md5?: string; sha256?: string };
  /** The body as a stream of the declared length (R2 needs the length up front). */
  body: () => ReadableStream | string;
}

/** R2 refuses with messages, not codes: the ones a client can act on become 400/404 problems. */
const r2Failure = (err: unknown) => {
  const message = String(err instanceof Error ? err.message : err);
  if (/md5|sha|checksum|digest/i.test(message)) return invalid("The body does not match its checksum.");
  if (/part|EntityTooSmall|too small/i.test(message)) {
    return invalid("Multipart parts must be at least 5 MiB, except the last; part numbers run 1 to 10,000.");
  }
  if (/upload/i.test(message)) return notFound("No such upload.");
  return null;
};

/** The request body sealed with the object's own key, its checksums checked on the way. */
function sealed(seal: ObjectSeal, request: UploadRequest, part = 1): SealedBody {
  return sealStream(Buffer.from(seal.key, "base64"), request.body(), request.size, { part, ...request.checksums });
}

/** A write that failed: a checksum the stream refused says so, whatever R2 made of it. */
async function writeFailure(body: SealedBody, err: unknown) {
  const reason = await body.digests.then(
    () => null,
    (e: unknown) => e,
  );
  return r2Failure(reason ?? err) ?? reason ?? err;
}

/**
 * A part's ETag for the client carries what completing needs and R2 cannot say of a sealed part:
 * "<plaintext md5>.<plaintext size>.<R2's ETag>". A client that alters it only breaks its own file.
 */
const partToken = (md5: string, size: number, etag: string) => `${md5}.${size}.${etag}`;
function partsOf(parts: { partNumber: number; etag: string }[]) {
  const read = parts.map((p) => {
    const m = p.etag.match(/^([0-9a-f]{32})\.(\d{1,12})\.(.+)$/);
    return m ? { partNumber: p.partNumber, md5: m[1] as string, size: Number(m[2]), etag: m[3] as string } : null;
  });
  if (read.some((p) => p === null)) throw invalid("A part's etag is the one its upload answered.");
  const sized = read as { partNumber: number; md5: string; size: number; etag: string }[];
  const partSize = sized[0]?.size ?? 0;
  const last = sized.at(-1)?.size ?? 0;
  if (sized.slice(0, -1).some((p) => p.size !== partSize) || last > partSize) {
    throw invalid("Multipart parts must all be the same size, except a smaller last one.");
  }
  const size = partSize * (sized.length - 1) + last;
  const stored = sealedLength(partSize) * (sized.length - 1) + sealedLength(last);
  return { parts: sized, partSize, size, stored };
}

/** PUT: one file in one request, or one part of a multipart upload (?uploadId=&partNumber=). */
export async function upload(c: Context<AppEnv>, path: FilePath, request: UploadRequest): Promise<Response> {
  const t = await tenantClient(c);
  const storage = tenantStorage(c.env.FILES, t.tenantId);
  const uploadId = c.req.query("uploadId");
  const { size, contentType } = request;
  if (uploadId) {
    const partNumber = Number(c.req.query("partNumber"));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
      throw invalid("partNumber runs 1 to 10,000.");
    const { seal } = await t.call((s, caller) => s.multipartCheck(caller, path, uploadId, false));
    const body = sealed(seal, request, partNumber);
    try {
      const part = await storage.resumeMultipart(path, uploadId).uploadPart(partNumber, body.body);
      const { md5 } = await body.digests;
      return c.json({ partNumber: part.partNumber, etag: partToken(md5, size, part.etag) }, 200);
    } catch (err) {
      throw await writeFailure(body, err);
    }
  }
  const { reservation, seal } = await t.call((s, caller) => s.fileBeginUpload(caller, { path, contentType, size }));
  const sealing = formatSealing({ keyId: seal.keyId, salt: seal.salt, chunk: CHUNK, partSize: size, parts: 1, size });
  const body = sealed(seal, request);
  let object: R2Object | null;
  try {
    object = await storage.putFile(path, body.body, {
      contentType,
      customMetadata: { ...request.metadata, [SEALING_META]: sealing },
    });
  } catch (err) {
    await t.call((s) => s.fileAbortUpload(reservation));
    throw await writeFailure(body, err);
  }
  if (!object) {
    await t.call((s) => s.fileAbortUpload(reservation));
    throw new ApiError("precondition_failed", "The upload did not complete.");
  }
  const digests = await body.digests;
  const plain = { size, etag: `"${digests.md5}"`, sha256: request.checksums.sha256 ?? null, sealing };
  return commit(c, t, storage, path, object, reservation, plain);
}

/**
 * Removes an object whose row was refused. R2 has already replaced any earlier object at this
 * key, so an earlier row would now describe bytes that are gone: it goes too (audited as a
 * delete), keeping "a row exists" and "the object exists" the same statement.
 */
async function discard(t: TenantClient, storage: TenantStorage, path: FilePath) {
  await storage.deleteFile(path);
  // Refusals are answers here (most often not_found: there was no earlier row); only bugs throw.
  const settled = (err: unknown) => {
    if (!(err instanceof ApiError)) throw err;
  };
  await t.call((s, caller) => s.fileDelete(caller, path)).catch(settled);
  await t.call((s, caller) => s.fileDeleted(caller, path)).catch(settled);
}

/** Records the stored object; if that is refused, the object is removed again (no orphans). */
async function commit(
  c: Context<AppEnv>,
  t: TenantClient,
  storage: TenantStorage,
  path: FilePath,
  object: R2Object,
  reservation: string | null,
  plain: { size: number; etag: string; sha256: string | null; sealing: string },
) {
  const stored = {
    path,
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    ...plain,
    auditReads: c.req.header("x-silo-audit-reads") === "true",
  };
  const file = await refusedRemoves(t, storage, path, () =>
    t.call((s, caller) => s.fileCommitUpload(caller, stored, reservation)),
  );
  return c.json(file, 201, { ETag: file.etag });
}

/** Runs a check of bytes R2 already holds; a refusal removes them before it is answered. */
async function refusedRemoves<T>(t: TenantClient, storage: TenantStorage, path: FilePath, check: () => Promise<T>) {
  try {
    return await check();
  } catch (err) {
    if (err instanceof ApiError) await discard(t, storage, path);
    throw err;
  }
}

/** DELETE: the file (row first, then the object), or ?uploadId= aborts a multipart upload. */
export async function remove(c: Context<AppEnv>, path: FilePath): Promise<Response> {
  const t = await tenantClient(c);
  const storage = tenantStorage(c.env.FILES, t.tenantId);
  const uploadId = c.req.query("uploadId");
  if (uploadId) {
    await t.call((s, caller) => s.multipartCheck(caller, path, uploadId, true));
    await storage.resumeMultipart(path, uploadId).abort();
    return c.body(null, 204);
  }
  const file = await t.call((s, caller) => s.fileDelete(caller, path));
  await storage.deleteFile(path);
  // Until this lands, a crash is finished by the object when it starts again.
  await t.call((s, caller) => s.fileDeleted(caller, path));
  return c.json(file, 200);
}

/** POST: ?uploads starts a multipart upload, ?uploadId= completes it with its parts. */
export async function multipart(
  c: Context<AppEnv>,
  path: FilePath,
  metadata: Record<string, string>,
): Promise<Response> {
  const t = await tenantClient(c);
  const storage = tenantStorage(c.env.FILES, t.tenantId);
  const contentType = c.req.header("content-type") ?? "application/octet-stream";
  if (c.req.query("uploads") !== undefined) {
    const fileType = c.req.header("x-file-content-type") ?? "application/octet-stream";
    await t.call((s, caller) => s.multipartBegin(caller, path, fileType, null));
    // The descriptor's layout is known only at completion: this marks the object as sealed.
    const created = await storage.createMultipart(path, {
      contentType: fileType,
      customMetadata: { ...metadata, [SEALING_META]: "s1" },
    });
    await t.call((s, caller) => s.multipartBegin(caller, path, fileType, created.uploadId));
    return c.json({ uploadId: created.uploadId, path }, 201);
  }
  const uploadId = c.req.query("uploadId");
  if (!uploadId)
    throw invalid("POST a file path with ?uploads to start a multipart upload, or ?uploadId= to complete one.");
  if (!contentType.includes("json")) throw invalid('Complete a multipart upload with a JSON body {"parts":[...]}.');
  const parsed = z
    .object({
      parts: z
        .array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().min(1) }))
        .min(1)
        .max(10_000),
    })
    .safeParse(await c.req.json().catch(() => null));
  if (!parsed.success) throw invalid('The body is {"parts":[{"partNumber":1,"etag":"..."}, ...]}.');
  const begun = await t.call((s, caller) => s.multipartCheck(caller, path, uploadId, false));
  const layout = partsOf(parsed.data.parts);
  // The whole size is known from the parts before R2 assembles them: the tenant's type, file-size
  // and quota rules (and its rate limit) apply now, as to a single PUT, so a refused completion
  // leaves any earlier file at this path as it was (R2 replaces it only when it completes).
  const { reservation } = await t.call((s, caller) =>
    s.fileBeginUpload(caller, { path, contentType: begun.contentType, size: layout.size }),
  );
  let object: R2Object;
  try {
    object = await storage
      .resumeMultipart(path, uploadId)
      .complete(layout.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
  } catch (err) {
    await t.call((s) => s.fileAbortUpload(reservation));
    throw r2Failure(err) ?? err;
  }
  // From here R2 holds the new object: a refusal removes it (and the row of what it replaced).
  const { seal } = await refusedRemoves(t, storage, path, () =>
    t.call((s, caller) => s.multipartCheck(caller, path, uploadId, true)),
  ).catch(async (err) => {
    await t.call((s) => s.fileAbortUpload(reservation));
    throw err;
  });
  if (object.size !== layout.stored) {
    await discard(t, storage, path);
    await t.call((s) => s.fileAbortUpload(reservation));
    throw invalid("The parts' etags do not describe the parts uploaded.");
  }
  const plain = {
    size: layout.size,
    etag: multipartEtag(layout.parts.map((p) => p.md5)),
    sha256: null,
    sealing: formatSealing({
      keyId: seal.keyId,
      salt: seal.salt,
      chunk: CHUNK,
      partSize: layout.partSize,
      parts: layout.parts.length,
      size: layout.size,
    }),
  };
  return commit(c, t, storage, path, object, reservation, plain);
}
