// Downloads: the tenant's object authorizes and meters the read, then the bytes stream from R2 with
// the right disposition, a single byte range, and conditional requests.
import type { Context } from "hono";
import type { FileView } from "../../durable-objects/contract/files";
import type { FilePath } from "../../durable-objects/storage/file-path";
import { openStream, parseSealing, SealError, type Sealing } from "../../durable-objects/storage/object-seal";
import { type TenantStorage, tenantStorage, userMetadata } from "../../durable-objects/storage/tenant-storage";
import type { AppEnv } from "../context";
import { ApiError, notFound } from "../errors";
import { checkEntityTags } from "../etag";
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

/** RFC 9110 §13.2.2 against the plaintext's ETag and time: 412, 304, or null to serve. */
function preconditions(headers: Headers, etag: string, modified: Date): 304 | 412 | null {
  const listed = (h: string, weak: boolean) =>
    h.split(",").some((t) => {
      const tag = t.trim();
      return tag === "*" || tag === etag || (weak && tag.replace(/^W\//, "") === etag.replace(/^W\//, ""));
    });
  const seconds = Math.floor(modified.getTime() / 1000) * 1000;
  const ifMatch = headers.get("if-match");
  const ifUnmodified = Date.parse(headers.get("if-unmodified-since") ?? "");
  if (ifMatch ? !listed(ifMatch, false) : seconds > ifUnmodified) return 412;
  const ifNone = headers.get("if-none-match");
  const ifModified = Date.parse(headers.get("if-modified-since") ?? "");
  if (ifNone ? listed(ifNone, true) : seconds <= ifModified) return 304;
  return null;
}

/** A malformed If-Match or If-None-Match is the client's mistake, refused before R2 is asked. */
function conditionalProblem(c: Context<AppEnv>): void {
  for (const name of ["if-match", "if-none-match"] as const) checkEntityTags(name, c.req.header(name));
}

/** Streams a file (or its headers) from R2 after the tenant's object authorized and metered it. */
export async function download(c: Context<AppEnv>, path: FilePath, headOnly: boolean): Promise<Response> {
  conditionalProblem(c);
  const t = await tenantClient(c);
  const { file, sealing, key } = await t.call((s, caller) => s.fileRead(caller, path));
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
  const sealed = parseSealing(sealing);
  if (sealed && key) {
    return sealedDownload(
      c,
      storage,
      path,
      file,
      { sealing: sealed, key: Buffer.from(key, "base64") },
      headOnly,
      range,
    );
  }
  const object = headOnly
    ? await storage.headFile(path)
    : await storage.getFile(path, { onlyIf: c.req.raw.headers, ...(range ? { range } : {}) });
  if (!object) throw notFound(`No file '${path}'.`);
  const headers = headersOf(object, file, path, object.httpEtag, object.uploaded);
  if (headOnly) {
    headers.set("content-length", String(object.size));
    return new Response(null, { status: 200, headers });
  }
  if (!("body" in object)) {
    const conditional = c.req.header("if-none-match") || c.req.header("if-modified-since");
    if (!conditional) throw new ApiError("precondition_failed", "If-Match or If-Unmodified-Since did not hold.");
    return new Response(null, { status: 304, headers });
  }
  return served((object as R2ObjectBody).body, headers, range, object.size);
}

function headersOf(object: R2Object, file: FileView, path: string, etag: string, modified: Date) {
  const headers = new Headers({
    "content-type": object.httpMetadata?.contentType ?? file.contentType,
    "content-disposition": disposition(file.contentType, path),
    "x-content-type-options": "nosniff",
    etag,
    "last-modified": modified.toUTCString(),
    "accept-ranges": "bytes",
  });
  for (const [k, v] of Object.entries(userMetadata(object.customMetadata))) headers.set(`x-silo-meta-${k}`, v);
  return headers;
}

function served(
  body: ReadableStream,
  headers: Headers,
  range: { offset: number; length: number } | null,
  size: number,
) {
  if (range) {
    const { offset, length } = range;
    headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${size}`);
    headers.set("content-length", String(length));
    return new Response(body, { status: 206, headers });
  }
  headers.set("content-length", String(size));
  return new Response(body, { status: 200, headers });
}

/**
 * A sealed file: only the chunks that hold the range are read and opened; the ETag, sizes and
 * preconditions are the plaintext's (the catalogue's), never those of the bytes R2 holds.
 */
async function sealedDownload(
  c: Context<AppEnv>,
  storage: TenantStorage,
  path: FilePath,
  file: FileView,
  { sealing, key }: { sealing: Sealing; key: Buffer },
  headOnly: boolean,
  range: { offset: number; length: number } | null,
): Promise<Response> {
  const plan = storage.sealedRange(sealing, range);
  const object = headOnly
    ? await storage.headFile(path)
    : await storage.getFile(path, range ? { range: plan.cipher } : {});
  if (!object) throw notFound(`No file '${path}'.`);
  const headers = headersOf(object, file, path, file.etag, object.uploaded);
  const refused = preconditions(c.req.raw.headers, file.etag, object.uploaded);
  if (refused || headOnly) {
    if ("body" in object) await (object as R2ObjectBody).body.cancel();
    if (refused === 412) throw new ApiError("precondition_failed", "If-Match or If-Unmodified-Since did not hold.");
    if (!refused) headers.set("content-length", String(file.size));
    return new Response(null, { status: refused ?? 200, headers });
  }
  let body: ReadableStream;
  try {
    body = await openStream(key, sealing, (object as R2ObjectBody).body, range);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    console.error(`file ${path} does not open: ${err.message}`);
    throw new ApiError("internal", "The stored file does not authenticate; it was not served.");
  }
  return served(body, headers, range, file.size);
}
