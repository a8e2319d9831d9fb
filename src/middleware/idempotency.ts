// Idempotency-Key on every POST (DESIGN §5): the same key and request within 24 h answers the
// first answer (status and body) without doing the work again; the same key with another request
// is 409 conflict. One rule, kept where the work commits:
// - data plane: the key rides on the caller into the tenant's object, whose gate replays or keeps
//   the answer in the same transaction as the write (durable-objects/gate/idempotency.ts);
// - work that spans several steps (the control plane's registry, sweeps and cross-tenant queries;
//   multipart uploads, R2 and the object in turn): a ledger in D1, claimed before the work and
//   completed with its answer after it.
// Keys are per caller: one caller's key never replays another's answer.
import { and, eq, lt } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import type { IdempotencyInput } from "../../durable-objects/contract/caller";
import type { AuthPrincipal } from "../auth/principal";
import type { AppEnv } from "../context";
import { controlDb } from "../control/control-db";
import { idempotencyKeys } from "../control/schema";
import { ApiError, invalid } from "../errors";

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A claim without an answer this old is a request that died midway: the key may run again. */
const ABANDONED_MS = 60_000;
const MAX_KEY_LENGTH = 200;
const SEVERAL_STEPS = /^\/v1\/((tenants|sweeps|admin|plans|billing|fleet|org)(\/|$)|files\/)/;

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The request a key stands for: method, path, query and a hash of the body. */
async function requestOf(c: Context<AppEnv>): Promise<string> {
  const body = await c.req.text();
  const digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  const url = new URL(c.req.url);
  return `${c.req.method} ${url.pathname}${url.search} ${digest}`;
}

function scopeOf(p: AuthPrincipal): string {
  if (p.kind === "admin") return `admin:${p.sub}`;
  return p.kind === "user" ? `user:${p.tenantId}:${p.sub}` : `key:${p.tenantId}:${p.keyId}`;
}

export function idempotency(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (c.req.method !== "POST" || key === undefined) return next();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    if (key.length === 0 || key.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f]/.test(key)) {
      throw invalid(`Idempotency-Key is 1 to ${MAX_KEY_LENGTH} printable characters.`, { field: "Idempotency-Key" });
    }
    const input: IdempotencyInput = { key, request: await requestOf(c) };
    if (!SEVERAL_STEPS.test(c.req.path)) {
      c.set("idempotency", input);
      return next();
    }
    return ledger(c, next, scopeOf(c.get("principal")), input);
  };
}

async function fingerprintOf(request: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(request)));
}

async function ledger(
  c: Context<AppEnv>,
  next: () => Promise<void>,
  scope: string,
  input: IdempotencyInput,
): Promise<Response | undefined> {
  const db = controlDb(c.env);
  const fingerprint = await fingerprintOf(input.request);
  const now = Date.now();
  const where = and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, input.key));
  // Expired answers and abandoned claims give the key back.
  await db
    .delete(idempotencyKeys)
    .where(and(where, lt(idempotencyKeys.createdAt, new Date(now - IDEMPOTENCY_TTL_MS).toISOString())));
  const claimed = await db
    .insert(idempotencyKeys)
    .values({ scope, key: input.key, fingerprint, createdAt: new Date(now).toISOString() })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed.length === 0) {
    const [row] = await db.select().from(idempotencyKeys).where(where);
    if (!row) throw new ApiError("conflict", "This Idempotency-Key is in use; retry.", {}, { "Retry-After": "1" });
    if (row.fingerprint !== fingerprint) {
      throw new ApiError("conflict", "This Idempotency-Key was used for a different request.");
    }
    if (row.status !== null) {
      return new Response(row.body, {
        status: row.status,
        headers: { "content-type": row.contentType ?? "application/json", "idempotent-replayed": "true" },
      });
    }
    if (now - Date.parse(row.createdAt) < ABANDONED_MS) {
      throw new ApiError(
        "conflict",
        "A request with this Idempotency-Key is still in progress.",
        {},
        { "Retry-After": "1" },
      );
    }
    await db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(now).toISOString() })
      .where(where);
  }
  try {
    await next();
  } catch (err) {
    await db.delete(idempotencyKeys).where(where);
    throw err;
  }
  // Only a success is kept: a refused request changed nothing, so its retry is decided again.
  const res = c.res;
  if (res.status >= 200 && res.status < 300 && !c.error) {
    const body = await res.clone().text();
    await db
      .update(idempotencyKeys)
      .set({ status: res.status, body, contentType: res.headers.get("content-type") })
      .where(where);
  } else {
    await db.delete(idempotencyKeys).where(where);
  }
  return undefined;
}

/** The retention sweep's share: control-plane answers past their 24 h are forgotten. */
export async function expireIdempotencyKeys(env: Env, now = Date.now()): Promise<void> {
  const before = new Date(now - IDEMPOTENCY_TTL_MS).toISOString();
  await controlDb(env).delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, before));
}
