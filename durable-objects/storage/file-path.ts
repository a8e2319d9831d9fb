// File paths inside a tenant's files area. The check runs on the decoded path: no empty, "." or
// ".." segments, no leading slash, no backslash, no control characters or NUL, and a UTF-8
// length that keeps the whole R2 key within 1,024 bytes. Nothing that passes can leave the
// tenant's prefix, whatever encoding it arrived in.

declare const checked: unique symbol;
/** A path that passed the check. */
export type FilePath = string & { readonly [checked]: true };

/** R2 keys are at most 1,024 bytes; the longest prefix is "tenant-" + 40 + "/files/". */
export const MAX_PATH_BYTES = 1024 - "tenant-".length - 40 - "/files/".length;

export type PathCheck = { ok: true; path: FilePath } | { ok: false; reason: string };

export function checkFilePath(path: string): PathCheck {
  if (path.length === 0) return { ok: false, reason: "The path is empty." };
  if (path.startsWith("/")) return { ok: false, reason: "The path must not start with '/'." };
  if (path.includes("\\")) return { ok: false, reason: "The path must not contain '\\'." };
  for (const ch of path) {
    const code = ch.codePointAt(0) ?? 0;
    // C1 controls (0x80-0x9f) too: terminals and log viewers act on them like C0 controls.
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f))
      return { ok: false, reason: "The path must not contain control characters." };
  }
  if (path.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return { ok: false, reason: "The path must not contain empty, '.' or '..' segments." };
  }
  if (new TextEncoder().encode(path).length > MAX_PATH_BYTES) {
    return { ok: false, reason: `The path is limited to ${MAX_PATH_BYTES} bytes.` };
  }
  return { ok: true, path: path as FilePath };
}

/** Decodes a path as it appears in a URL (once), then checks it. Malformed escapes are refused. */
export function filePathFromUrl(encoded: string): PathCheck {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    return { ok: false, reason: "The path is not valid percent-encoded UTF-8." };
  }
  return checkFilePath(decoded);
}

/** For paths read back from the tenant's own metadata: checked again, throwing on anything odd. */
export function unsafeFilePath(path: string): FilePath {
  const result = checkFilePath(path);
  if (!result.ok) throw new Error(`invalid stored file path: ${result.reason}`);
  return result.path;
}
