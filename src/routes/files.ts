// Files: bytes stream between the client and R2 under the tenant's prefix; the tenant's object
// decides (permission, type, size, quota) and keeps the metadata and audit trail.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { FileListingSchema, FileSchema as FileView } from "../../durable-objects/contract/files";
import { type FilePath, filePathFromUrl } from "../../durable-objects/storage/file-path";
import type { AppEnv } from "../context";
import { decodeCursor, encodeCursor } from "../cursor";
import { invalid } from "../errors";
import { download } from "../files/download";
import { multipart, remove, type UploadRequest, upload } from "../files/upload-service";
import { bearerSecurity, commonErrors, conflictError, jsonResponse, newRouter, problem } from "../openapi";
import { tenantClient } from "../tenant-client";

const MAX_METADATA_BYTES = 2048;

const FileSchema = FileView.openapi("File");

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

function uploadRequest(c: Context<AppEnv>): UploadRequest {
  const size = lengthOf(c);
  return {
    size,
    contentType: c.req.header("content-type") ?? "application/octet-stream",
    metadata: metadataOf(c),
    checksums: checksumsOf(c),
    body: () => bodyOf(c, size),
  };
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

export const fileRoutes = newRouter().openapi(
  createRoute({
    method: "get",
    path: "/v1/files",
    tags: ["Files"],
    summary: "List files under a prefix: flat, or with delimiter=/ the next level's files and folders",
    security: bearerSecurity,
    request: {
      query: z.object({
        prefix: z.string().max(1000).default(""),
        delimiter: z
          .enum(["/"])
          .optional()
          .openapi({ description: "Without it every file under the prefix, flat (as S3); '/' groups folders." }),
        cursor: z.string().max(2000).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
    },
    responses: {
      200: jsonResponse(
        FileListingSchema.extend({ items: z.array(FileSchema) }),
        "Every file under the prefix; with delimiter=/ the files directly under it and its sub-folders.",
      ),
      ...commonErrors,
    },
  }),
  async (c) => {
    const { prefix, delimiter, cursor, limit } = c.req.valid("query");
    // Cursors carry the path percent-encoded: btoa (in encodeCursor) only takes Latin-1.
    const after = cursor
      ? afterOf(
          decodeCursor(cursor, (v): v is { after: string } => typeof (v as { after?: unknown })?.after === "string"),
        )
      : null;
    const t = await tenantClient(c);
    const listing = await t.call((s, caller) => s.fileList(caller, prefix, after, limit, delimiter ?? null));
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
fileRoutes.put("/v1/files/:path{.+}", (c) => upload(c, pathOf(c), uploadRequest(c)));
fileRoutes.delete("/v1/files/:path{.+}", (c) => remove(c, pathOf(c)));
fileRoutes.post("/v1/files/:path{.+}", (c) => multipart(c, pathOf(c), metadataOf(c)));

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
    responses: { ...commonErrors, ...responses },
  });

const header = (description: string) => ({ description, schema: { type: "string" as const }, required: true });
/** The file's bytes, served with the type it was stored with. */
const fileBytes = (description: string, headers: Record<string, ReturnType<typeof header>>) => ({
  description,
  headers,
  content: { "*/*": { schema: { type: "string" as const, format: "binary" } } },
});
const fileHeaders = {
  ETag: header("The file's ETag (its plaintext's, however R2 holds it)."),
  "Content-Disposition": header("attachment, or inline for types on the safe list; with the file's name."),
  "Accept-Ranges": header("bytes"),
};
const PartSchema = z.object({ partNumber: z.number().int(), etag: z.string() }).openapi("UploadedPart");
const UploadSchema = z.object({ uploadId: z.string(), path: z.string() }).openapi("MultipartUpload");

fileDoc("put", "Upload a file (raw body with Content-Type and Content-Length; ?uploadId=&partNumber= uploads a part)", {
  ...conflictError,
  201: { ...jsonResponse(FileSchema, "The stored file."), headers: { ETag: header("The stored object's ETag.") } },
  200: jsonResponse(PartSchema, "A multipart part was stored."),
  403: problem("Not allowed, file type refused (forbidden), or quota_exceeded."),
  412: problem("The upload did not complete (precondition_failed)."),
  413: problem("The file is over the tenant's maxFileBytes (payload_too_large)."),
});
fileDoc("get", "Download a file (streamed; Range and If-None-Match supported)", {
  200: fileBytes("The file.", fileHeaders),
  206: fileBytes("The requested range.", { ...fileHeaders, "Content-Range": header("bytes first-last/size") }),
  304: { description: "Not modified (If-None-Match or If-Modified-Since)." },
  412: problem("If-Match or If-Unmodified-Since did not hold (precondition_failed)."),
  416: problem("The range lies outside the file.", { "Content-Range": header("bytes */size") }),
  500: problem("The stored bytes do not open: altered in storage, or sealed under a destroyed key (internal)."),
});
fileDoc("head", "A file's headers", { 200: fileBytes("The file's headers, without its bytes.", fileHeaders) });
fileDoc("delete", "Delete a file (?uploadId= aborts a multipart upload)", {
  ...conflictError,
  200: jsonResponse(FileSchema, "The deleted file."),
  204: { description: "The multipart upload was aborted." },
});
fileDoc("post", "Multipart uploads: ?uploads starts one, ?uploadId= completes it with {parts}", {
  ...conflictError,
  201: jsonResponse(z.union([UploadSchema, FileSchema]), "Started ({uploadId, path}) or completed (the stored file)."),
  403: problem("Not allowed, file type refused (forbidden), or quota_exceeded."),
  413: problem("The file is over the tenant's maxFileBytes (payload_too_large)."),
});
