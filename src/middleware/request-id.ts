// Gives every request an id (a sane incoming x-request-id is kept) and echoes it on the response.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../context";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header("x-request-id");
  const id = incoming && SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", id);
  await next();
  c.res.headers.set("x-request-id", id);
});
