// Downloads: the tenant's object authorizes and meters the read, then the bytes stream from R2 with
// the right disposition, a single byte range, and conditional requests.
import type { Context } from "hono";
import type { FilePath } from "../../durable-objects/storage/file-path";
import { tenantStorage } from "../../durable-objects/storage/tenant-storage";
import type { AppEnv } from "../context";
import { ApiError, notFound } from "../errors";
import { tenantClient } from "../tenant-client";

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

/** Streams a file (or its headers) from R2 after the tenant's object authorized and metered it. */
export async function download(c: Context<AppEnv>, path: FilePath, headOnly: boolean): Promise<Response> {
  const t = await tenantClient(c);
  const file = await t.call((s, caller) => s.fileRead(caller, path));
  const storage = tenantStorage(c.env.FILES, t.tenantId);
  // The range is parsed here against the recorded size: R2 clamps an unsatisfiable range to
  // the object instead of refusing it, which would answer 206 with the wrong bytes.
  const range = headOnly ? null : rangeOf(c.req.header("range"), file.size);
  if (range === "unsatisfiable") {
    throw new ApiError(
      "range_not_satisfiable",
      `The range is outside the file's ${file.size} bytes.`,
      {},
      { "content-range": `bytes */${file.size}` },
    );
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
