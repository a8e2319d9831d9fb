// Files: bytes stream between the client and R2 under the tenant's prefix; the tenant's object
// decides (permission, type, size, quota) and keeps the metadata and audit trail.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { FileListing, FileView } from "../../durable-objects/files/file-catalog";
import { type FilePath, filePathFromUrl } from "../../durable-objects/storage/file-path";
import { type TenantStorage, tenantStorage } from "../../durable-objects/storage/tenant-storage";
import { tenantRpc } from "../caller";
import type { AppEnv } from "../context";
import { decodeCursor, encodeCursor } from "../cursor";
import { ApiError, invalid, notFound, problemBody } from "../errors";
import { bearerSecurity, commonErrors, jsonResponse, newRouter, ProblemSchema } from "../openapi";
import { unwrap } from "../tenant-client";

/** Types a browser will not run: served inline. Everything else is an attachment. */
const INLINE_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "text/plain",
  "text/csv",
  "application/json",
  "application/pdf",
  "audio/mpeg",
  "video/mp4",
]);
const MAX_METADATA_BYTES = 2048;

const FileSchema = z
  .object({
    path: z.string(),
    size: z.number(),
    contentType: z.string(),
    etag: z.string(),
    sha256: z.string().nullable(),
    uploadedBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("File");

function pathOf(c: Context<AppEnv>): FilePath {
  // The raw (still percent-encoded) path after /v1/files/: decoded exactly once, then checked.
  const raw = new URL(c.req.url).pathname.slice("/v1/files/".length);
  const checked = filePathFromUrl(raw);
  if (!checked.ok) throw invalid(checked.reason, { field: "path" });
  return checked.path;
}

function metadataOf(c: Context<AppEnv>): Record<string, string> {
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of c.req.raw.headers) {
    if (!name.startsWith("x-silo-meta-")) continue;
    const key = name.slice("x-silo-meta-".length);
    meta[key] = value;
    bytes += key.length + value.length;
  }
  if (bytes > MAX_METADATA_BYTES) throw invalid(`Custom metadata is limited to ${MAX_METADATA_BYTES} bytes.`);
  return meta;
}

function lengthOf(c: Context<AppEnv>): number {
  const header = c.req.header("content-length");
  if (!header || !/^\d{1,15}$/.test(header)) {
    throw invalid("Uploads need a Content-Length (use multipart uploads for streams of unknown size).");
  }
  return Number(header);
}

/** The request body as a stream of known length, as R2 requires. */
function bodyOf(c: Context<AppEnv>, size: number): ReadableStream | string {
  const body = c.req.raw.body;
  if (!body || size === 0) return "";
  const { readable, writable } = new FixedLengthStream(size);
  body.pipeTo(writable).catch(() => {});
  return readable;
}

function checksumsOf(c: Context<AppEnv>) {
  const md5 = c.req.header("content-md5");
  const sha256 = c.req.header("x-checksum-sha256");
  let md5Hex: string | undefined;
  if (md5) {
    try {
      md5Hex = Array.from(atob(md5), (ch) => ch.charCodeAt(0).toString(16).padStart(2, "0")).join("");
    } catch {
      throw invalid("Content-MD5 is the base64 MD5 of the body.");
    }
    if (md5Hex.length !== 32) throw invalid("Content-MD5 is the base64 MD5 of the body.");
  }
  if (sha256 && !/^[0-9a-f]{64}$/i.test(sha256)) throw invalid("x-checksum-sha256 is the hex SHA-256 of the body.");
  return { md5: md5Hex, sha256: sha256?.toLowerCase() };
}

const r2Failure = (err: unknown) => {
  const message = String(err instanceof Error ? err.message : err);
  if (/md5|sha|checksum|digest/i.test(message)) return invalid("The body does not match its checksum.");
  if (/part|EntityTooSmall|too small/i.test(message)) {
    return invalid("Multipart parts must be at least 5 MiB, except the last; part numbers run 1 to 10,000.");
  }
  if (/upload/i.test(message)) return notFound("No such upload.");
  return null;
};

async function upload(c: Context<AppEnv>, path: FilePath) {
  const { stub, caller, tenantId } = await tenantRpc(c);
  const storage = tenantStorage(c.env.FILES, tenantId);
  const uploadId = c.req.query("uploadId");
  const size = lengthOf(c);
  const contentType = c.req.header("content-type") ?? "application/octet-stream";
  if (uploadId) {
    const partNumber = Number(c.req.query("partNumber"));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000)
      throw invalid("partNumber runs 1 to 10,000.");
    unwrap(await stub.multipartCheck(caller, path, uploadId, false));
    try {
      const part = await storage.resumeMultipart(path, uploadId).uploadPart(partNumber, bodyOf(c, size));
      return c.json({ partNumber: part.partNumber, etag: part.etag }, 200);
    } catch (err) {
      throw r2Failure(err) ?? err;
    }
  }
  const { reservation } = unwrap(await stub.fileBeginUpload(caller, { path, contentType, size })) as {
    reservation: string;
  };
  let object: R2Object | null;
  try {
    object = await storage.putFile(path, bodyOf(c, size), {
      contentType,
      customMetadata: metadataOf(c),
      ...checksumsOf(c),
    });
  } catch (err) {
    await stub.fileAbortUpload(reservation);
    throw r2Failure(err) ?? err;
  }
  if (!object) {
    await stub.fileAbortUpload(reservation);
    throw new ApiError("precondition_failed", "The upload did not complete.");
  }
  return commit(c, stub, caller, storage, path, object, reservation);
}

type Rpc = Awaited<ReturnType<typeof tenantRpc>>;

/**
 * Removes an object whose row was refused. R2 has already replaced any earlier object at this
 * key, so an earlier row would now describe bytes that are gone: it goes too (audited as a
 * delete), keeping "a row exists" and "the object exists" the same statement.
 */
async function discard(stub: Rpc["stub"], caller: Rpc["caller"], storage: TenantStorage, path: FilePath) {
  await storage.deleteFile(path);
  await stub.fileDelete(caller, path); // a not_found answer just means there was no earlier row
  await stub.fileDeleted(caller, path);
}

/** Records the stored object; if that is refused, the object is removed again (no orphans). */
async function commit(
  c: Context<AppEnv>,
  stub: Rpc["stub"],
  caller: Rpc["caller"],
  storage: ReturnType<typeof tenantStorage>,
  path: FilePath,
  object: R2Object,
  reservation: string | null,
) {
  const committed = await stub.fileCommitUpload(
    caller,
    {
      path,
      size: object.size,
      contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
      etag: object.httpEtag,
      sha256: c.req.header("x-checksum-sha256")?.toLowerCase() ?? null,
    },
    reservation,
  );
  if (!committed.ok) await discard(stub, caller, storage, path);
  const file = unwrap(committed) as FileView;
  return c.json(file, 201, { ETag: file.etag });
}

function disposition(contentType: string, path: string): string {
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  const name = path.split("/").at(-1) ?? "file";
  const kind = INLINE_TYPES.has(type) ? "inline" : "attachment";
  return `${kind}; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * One byte range ("bytes=a-b", "bytes=a-", "bytes=-n") within `size`. Anything else (several
 * ranges, other units, garbage) is ignored and the whole file is served, as RFC 9110 allows.
 */
function rangeOf(
  header: string | undefined,
  size: number,
): { offset: number; length: number } | "unsatisfiable" | null {
  const m = header?.trim().match(/^bytes=(\d{0,15})-(\d{0,15})$/);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < first) return null;
  if (first >= size) return "unsatisfiable";
  return { offset: first, length: last - first + 1 };
}

async function download(c: Context<AppEnv>, path: FilePath, headOnly: boolean) {
  const { stub, caller, tenantId } = await tenantRpc(c);
  const file = unwrap(await stub.fileRead(caller, path)) as FileView;
  const storage = tenantStorage(c.env.FILES, tenantId);
  // The range is parsed here against the recorded size: R2 clamps an unsatisfiable range to
  // the object instead of refusing it, which would answer 206 with the wrong bytes.
  const range = headOnly ? null : rangeOf(c.req.header("range"), file.size);
  if (range === "unsatisfiable") {
    const body = problemBody(
      "validation_failed",
      `The range is outside the file's ${file.size} bytes.`,
      c.get("requestId"),
    );
    return new Response(JSON.stringify({ ...body, status: 416, title: "Range not satisfiable" }), {
      status: 416,
      headers: { "content-type": "application/problem+json", "content-range": `bytes */${file.size}` },
    });
  }
  const object = headOnly
    ? await storage.headFile(path)
    : await storage.getFile(path, { onlyIf: c.req.raw.headers, ...(range ? { range } : {}) });
  if (!object) throw notFound(`No file '${path}'.`);
  const headers = new Headers({
    "content-type": object.httpMetadata?.contentType ?? file.contentType,
    "content-disposition": disposition(file.contentType, path),
    "x-content-type-options": "nosniff",
    etag: object.httpEtag,
    "last-modified": object.uploaded.toUTCString(),
    "accept-ranges": "bytes",
  });
  for (const [k, v] of Object.entries(object.customMetadata ?? {})) headers.set(`x-silo-meta-${k}`, v);
  if (headOnly) {
    headers.set("content-length", String(object.size));
    return new Response(null, { status: 200, headers });
  }
  if (!("body" in object)) {
    const conditional = c.req.header("if-none-match") || c.req.header("if-modified-since");
    return new Response(null, { status: conditional ? 304 : 412, headers });
  }
  if (range) {
    const { offset, length } = range;
    headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    headers.set("content-length", String(length));
    return new Response((object as R2ObjectBody).body, { status: 206, headers });
  }
  headers.set("content-length", String(object.size));
  return new Response((object as R2ObjectBody).body, { status: 200, headers });
}

async function remove(c: Context<AppEnv>, path: FilePath) {
  const { stub, caller, tenantId } = await tenantRpc(c);
  const storage = tenantStorage(c.env.FILES, tenantId);
  const uploadId = c.req.query("uploadId");
  if (uploadId) {
    unwrap(await stub.multipartCheck(caller, path, uploadId, true));
    await storage.resumeMultipart(path, uploadId).abort();
    return c.body(null, 204);
  }
  const file = unwrap(await stub.fileDelete(caller, path)) as FileView;
  await storage.deleteFile(path);
  await stub.fileDeleted(caller, path); // until then a crash is finished by the object on restart
  return c.json(file, 200);
}

async function post(c: Context<AppEnv>, path: FilePath) {
  const { stub, caller, tenantId } = await tenantRpc(c);
  const storage = tenantStorage(c.env.FILES, tenantId);
  const contentType = c.req.header("content-type") ?? "application/octet-stream";
  if (c.req.query("uploads") !== undefined) {
    const fileType = c.req.header("x-file-content-type") ?? "application/octet-stream";
    unwrap(await stub.multipartBegin(caller, path, fileType, null));
    const created = await storage.createMultipart(path, { contentType: fileType, customMetadata: metadataOf(c) });
    unwrap(await stub.multipartBegin(caller, path, fileType, created.uploadId));
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
  unwrap(await stub.multipartCheck(caller, path, uploadId, false));
  let object: R2Object;
  try {
    object = await storage.resumeMultipart(path, uploadId).complete(parsed.data.parts);
  } catch (err) {
    throw r2Failure(err) ?? err;
  }
  unwrap(await stub.multipartCheck(caller, path, uploadId, true));
  // Only now is the whole size known: the tenant's type, file-size and quota rules apply to it
  // exactly as to a single PUT (a refused object is removed, not kept uncounted).
  const checked = await stub.fileBeginUpload(caller, {
    path,
    contentType: object.httpMetadata?.contentType ?? "application/octet-stream",
    size: object.size,
  });
  if (!checked.ok) await discard(stub, caller, storage, path);
  const { reservation } = unwrap(checked) as { reservation: string };
  return commit(c, stub, caller, storage, path, object, reservation);
}

function afterOf(position: { after: string }): string {
  try {
    return decodeURIComponent(position.after);
  } catch {
    throw invalid("The cursor is not valid.", { field: "cursor" });
  }
}

const PathParam = z.object({
  path: z.string().openapi({ param: { name: "path", in: "path" }, example: "reports/2026/q3.pdf" }),
});
const problem = { "application/problem+json": { schema: ProblemSchema } };

export const fileRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/files",
    tags: ["Files"],
    summary: "List files and folders under a prefix ('/' is the delimiter)",
    security: bearerSecurity,
    request: {
      query: z.object({
        prefix: z.string().max(1000).default(""),
        cursor: z.string().max(2000).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
    },
    responses: {
      200: jsonResponse(
        z.object({ items: z.array(FileSchema), folders: z.array(z.string()), nextCursor: z.string().nullable() }),
        "Files directly under the prefix, and its sub-folders.",
      ),
      ...commonErrors,
    },
  }),
  async (c) => {
    const { prefix, cursor, limit } = c.req.valid("query");
    // Cursors carry the path percent-encoded: btoa (in encodeCursor) only takes Latin-1.
    const after = cursor
      ? afterOf(
          decodeCursor(cursor, (v): v is { after: string } => typeof (v as { after?: unknown })?.after === "string"),
        )
      : null;
    const { stub, caller } = await tenantRpc(c);
    const listing = unwrap(await stub.fileList(caller, prefix, after, limit)) as FileListing;
    return c.json(
      {
        ...listing,
        nextCursor: listing.nextCursor ? encodeCursor({ after: encodeURIComponent(listing.nextCursor) }) : null,
      },
      200,
    );
  },
);

fileRoutes.on("HEAD", "/v1/files/:path{.+}", (c) => download(c, pathOf(c), true));
fileRoutes.get("/v1/files/:path{.+}", (c) => download(c, pathOf(c), false));
fileRoutes.put("/v1/files/:path{.+}", (c) => upload(c, pathOf(c)));
fileRoutes.delete("/v1/files/:path{.+}", (c) => remove(c, pathOf(c)));
fileRoutes.post("/v1/files/:path{.+}", (c) => post(c, pathOf(c)));

// The routes above take a path with slashes, which OpenAPI path templates cannot express; they
// are described here by hand so /openapi.json still covers them.
const fileDoc = (
  method: "get" | "put" | "delete" | "post" | "head",
  summary: string,
  responses: Record<string, unknown>,
) =>
  fileRoutes.openAPIRegistry.registerPath({
    method,
    path: "/v1/files/{path}",
    tags: ["Files"],
    summary,
    security: bearerSecurity,
    request: { params: PathParam },
    responses: {
      ...responses,
      400: { description: "Invalid path or request.", content: problem },
      404: { description: "No such file.", content: problem },
    },
  });
fileDoc("put", "Upload a file (raw body with Content-Type and Content-Length; ?uploadId=&partNumber= uploads a part)", {
  201: jsonResponse(FileSchema, "The stored file."),
  200: { description: "A multipart part was stored: {partNumber, etag}." },
  403: { description: "Not allowed, file type refused, or quota_exceeded.", content: problem },
});
fileDoc("get", "Download a file (streamed; Range and If-None-Match supported)", {
  200: { description: "The file." },
  206: { description: "The requested range." },
  304: { description: "Not modified." },
});
fileDoc("head", "A file's headers", { 200: { description: "The file's headers." } });
fileDoc("delete", "Delete a file (?uploadId= aborts a multipart upload)", {
  200: jsonResponse(FileSchema, "The deleted file."),
  204: { description: "The multipart upload was aborted." },
});
fileDoc("post", "Multipart uploads: ?uploads starts one, ?uploadId= completes it with {parts}", {
  201: { description: "Started ({uploadId, path}) or completed (the stored file)." },
});
