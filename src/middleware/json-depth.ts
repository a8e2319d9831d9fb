// Refuses JSON bodies nested deeper than 64 levels (400 validation_failed) before they reach the
// tenant's object: structuring a very deep value for the RPC call recurses until the stack
// overflows (a 500). The scan is iterative, so no input can overflow it.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { invalid } from "../errors";

export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x7b, 0x5b]); // { [
const CLOSERS = new Set([0x7d, 0x5d]); // } ]

/** Whether a JSON text nests objects and arrays deeper than `max` (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === QUOTE) inString = false;
    } else if (ch === QUOTE) {
      inString = true;
    } else if (OPENERS.has(ch)) {
      if (++depth > max) return true;
    } else if (CLOSERS.has(ch)) {
      depth--;
    }
  }
  return false;
}

export function jsonDepthLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!/json/i.test(c.req.header("content-type") ?? "")) return next();
    // File uploads are raw bytes of any type, streamed to R2: never parsed, never buffered here.
    if (c.req.method === "PUT" && c.req.path.startsWith("/v1/files/")) return next();
    // Read through Hono's body cache, so the route's validator parses the same text afterwards.
    const text = await c.req.text();
    if (nestsDeeperThan(text)) {
      throw invalid(`JSON bodies may nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep.`, {
        field: "body",
      });
    }
    return next();
  };
}
