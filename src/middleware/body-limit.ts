// Refuses oversized bodies with 413 before buffering them: Content-Length is checked up front and
// a streamed body is cut off as soon as it passes the limit.

import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** Hono's limiter for one size, built once per isolate (not on every request: ~3% of a read). */
const limiters = new Map<number, MiddlewareHandler>();
function limiter(maxSize: number): MiddlewareHandler {
  let m = limiters.get(maxSize);
  if (!m) {
    m = honoBodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError("payload_too_large", `Request bodies are limited to ${maxSize} bytes.`, { limit: maxSize });
      },
    });
    limiters.set(maxSize, m);
  }
  return m;
}

export function bodyLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // File uploads stream to R2 under their own rules (type, size, quota), not the JSON limit.
    if (c.req.method === "PUT" && c.req.path.startsWith("/v1/files/")) return next();
    // A request without a body (every GET) has nothing to limit.
    if (!c.req.raw.body) return next();
    return limiter(Number(c.env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES)(c, next);
  };
}
