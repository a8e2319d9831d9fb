// Record ETags are the version in quotes ("3"). If-Match uses the strong comparison (RFC 9110
// §13.1.1): a weak tag never matches, so a write that sends one is refused (412) before it runs.
// If-None-Match uses the weak comparison: W/"3" and "3" both name version 3.
import { ApiError, invalid } from "./errors";

const TAG = /^\s*(W\/)?"?(\d{1,15})"?\s*$/;

/** If-Match → the version a write expects; absent or "*" → no precondition. */
export function ifMatchVersion(header: string | undefined): number | null {
  if (header === undefined || header.trim() === "*") return null;
  const m = TAG.exec(header);
  if (!m) throw invalid('If-Match takes a record version such as "3".', { field: "if-match" });
  if (m[1]) {
    throw new ApiError(
      "precondition_failed",
      `A weak ETag never matches If-Match (strong comparison); send "${m[2]}" instead.`,
    );
  }
  return Number(m[2]);
}

/** Whether If-None-Match names this version (or is "*"), so a GET answers 304. */
export function notModified(header: string | undefined, version: unknown): boolean {
  if (header === undefined || typeof version !== "number") return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => Number(TAG.exec(tag)?.[2]) === version);
}

/** `*` or a list of entity tags, strong or weak (RFC 9110 §13.1.1-2), as files' ETags are. */
const ENTITY_TAGS = /^\s*(\*|(W\/)?"[\x21\x23-\x7e\x80-\xff]*"(\s*,\s*(W\/)?"[\x21\x23-\x7e\x80-\xff]*")*)\s*$/;

/** A file precondition's header that is no list of quoted tags is refused (400). */
export function checkEntityTags(name: "if-match" | "if-none-match", value: string | undefined): void {
  if (value !== undefined && !ENTITY_TAGS.test(value)) {
    throw invalid(`${name} must be * or a list of quoted entity tags.`, { field: name });
  }
}
