// The upload service: the tenant's object admits an upload (permission, type, size, quota) and
// reserves its bytes, the Worker streams them to R2, then the object commits the catalogue row;
// whatever the object refuses after R2 has the bytes is removed again, so a catalogue row and an
// object in R2 always go together.
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { FilePath } from "../../durable-objects/storage/file-path";
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
    await t.call((s, caller) => s.multipartCheck(caller, path, uploadId, false));
    try {
      const part = await storage.resumeMultipart(path, uploadId).uploadPart(partNumber, request.body());
      return c.json({ partNumber: part.partNumber, etag: part.etag }, 200);
    } catch (err) {
      throw r2Failure(err) ?? err;
    }
  }
  const { reservation } = await t.call((s, caller) => s.fileBeginUpload(caller, { path, contentType, size }));
  let object: R2Object | null;
  try {
    object = await storage.putFile(path, request.body(), {
      contentType,
      customMetadata: request.metadata,
      ...request.checksums,
    });
  } catch (err) {
    await t.call((s) => s.fileAbortUpload(reservation));
    throw r2Failure(err) ?? err;
  }
  if (!object) {
    await t.call((s) => s.fileAbortUpload(reservation));
    throw new ApiError("precondition_failed", "The upload did not complete.");
  }
  return commit(c, t, storage, path, object, reservation, request.checksums.sha256 ?? null);
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
  sha256: string | null,
) {
  const stored = {
    path,
    size: object.size,
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    etag: object.httpEtag,
    sha256,
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
    const created = await storage.createMultipart(path, { contentType: fileType, customMetadata: metadata });
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
  await t.call((s, caller) => s.multipartCheck(caller, path, uploadId, false));
  let object: R2Object;
  try {
    object = await storage.resumeMultipart(path, uploadId).complete(parsed.data.parts);
  } catch (err) {
    throw r2Failure(err) ?? err;
  }
  await t.call((s, caller) => s.multipartCheck(caller, path, uploadId, true));
  // Only now is the whole size known: the tenant's type, file-size and quota rules apply to it
  // exactly as to a single PUT (a refused object is removed, not kept uncounted).
  const checked = {
    path,
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    size: object.size,
  };
  const { reservation } = await refusedRemoves(t, storage, path, () =>
    t.call((s, caller) => s.fileBeginUpload(caller, checked)),
  );
  return commit(c, t, storage, path, object, reservation, null);
}
