// Webhooks (DESIGN §10): endpoints registered by a tenant member receive the change log's events
// as that member's reads would show them (visibleEvent), signed with HMAC-SHA256. An outbox, not
// a fire-and-forget fetch: the object's alarm takes new events from the log into
// webhook_deliveries (one transaction per endpoint, its position moved with them), then sends
// what is due, at least once, retrying with exponential backoff for 24 h before marking failed.
import { createHmac, randomBytes } from "node:crypto";
import { and, asc, desc, eq, lt, lte, sql } from "drizzle-orm";
import type { Principal } from "../access/authorize";
import { appendAudit } from "../audit/audit-chain";
import type { Caller } from "../contract/caller";
import { CHANGE_TYPES, type DeliveryView } from "../contract/changes";
import type { Page } from "../contract/records";
import { fail, ok, type Result } from "../contract/result";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Store } from "../db/store";
import { visibleEvent } from "./change-feed";
import { changesAfter, latestSeq } from "./change-log";

export const MAX_WEBHOOKS = 10;
/** Deliveries sent per alarm, across endpoints: a tenant's outbox never floods one step. */
const SEND_BUDGET = 50;
const ENQUEUE_BUDGET = 500;
const RETRY_WINDOW_MS = 24 * 3600 * 1000;
const TIMEOUT_MS = 10_000;
export const backoffMs = (attempts: number) => Math.min(3600_000, 10_000 * 2 ** Math.max(0, attempts - 1));

type Authorize = (store: Store, caller: Caller) => Result<Principal>;

export interface WebhookView {
  id: string;
  url: string;
  events: string[] | null;
  collections: string[] | null;
  createdAt: string;
  createdBy: string;
}

const PRIVATE_V4 = [
  /^10\./,
  /^127\./,
  /^0\./,
  /^169\.254\./,
  /^192\.168\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
];

/** Whether a URL may receive deliveries: https to a public host, or (locally) http to loopback. */
export function urlProblem(raw: string, allowLocal: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "url is not a URL.";
  }
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const loopback = host === "localhost" || host === "127.0.0.1" || host === "::1";
  if (allowLocal && loopback && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") return "Webhook URLs are https.";
  if (url.username || url.password) return "Webhook URLs carry no credentials.";
  const privateHost =
    loopback ||
    host.endsWith(".localhost") ||
    host.endsWith(".local") ||
    host.endsWith(".internal") ||
    PRIVATE_V4.some((r) => r.test(host)) ||
    /^(fc|fd|fe8|fe9|fea|feb)[0-9a-f]*:/.test(host) ||
    host.startsWith("::ffff:") ||
    /^\d+$/.test(host);
  return privateHost ? "Webhook URLs never point at private, loopback or link-local addresses." : null;
}

const view = (row: typeof webhooks.$inferSelect): WebhookView => ({
  id: row.id,
  url: row.url,
  events: row.events ?? null,
  collections: row.collections ?? null,
  createdAt: row.createdAt,
  createdBy: row.createdBy,
});

export function createWebhook(
  store: Store,
  p: Principal,
  caller: Caller,
  body: { url: string; events: string[] | null; collections: string[] | null },
  allowLocal: boolean,
): Result<WebhookView & { secret: string }> {
  const problem = urlProblem(body.url, allowLocal);
  if (problem) return fail("validation_failed", problem, { field: "url" });
  const unknown = (body.events ?? []).filter((e) => !(CHANGE_TYPES as readonly string[]).includes(e));
  if (unknown.length)
    return fail("validation_failed", `Unknown event types: ${unknown.join(", ")}.`, { field: "events" });
  const count = store.db.select({ n: sql<number>`count(*)` }).from(webhooks).get()?.n ?? 0;
  if (count >= MAX_WEBHOOKS) return fail("conflict", `A tenant has at most ${MAX_WEBHOOKS} webhooks.`);
  const secret = `whsec_${randomBytes(24).toString("base64url")}`;
  const row = {
    id: `wh_${randomBytes(8).toString("hex")}`,
    url: body.url,
    events: body.events,
    collections: body.collections,
    secret: store.cipher().current.encrypt(secret),
    // Only what identifies the caller: no request id, no idempotency key.
    caller: { ...caller, requestId: "webhook", idempotency: null },
    position: latestSeq(store),
    createdAt: new Date().toISOString(),
    createdBy: p.actor,
  };
  // An endpoint that will receive the tenant's data is audited (never its secret), with the row.
  store.storage.transactionSync(() => {
    store.db.insert(webhooks).values(row).run();
    appendAudit(store.db, {
      actor: p.actor,
      action: "webhook.create",
      resource: `webhook:${row.id}`,
      success: true,
      details: { url: row.url, events: row.events, collections: row.collections },
    });
  });
  return ok({ ...view(row), secret });
}

export const listWebhooks = (store: Store): WebhookView[] =>
  store.db.select().from(webhooks).orderBy(asc(webhooks.createdAt), asc(webhooks.id)).all().map(view);

export function getWebhook(store: Store, id: string): Result<WebhookView> {
  const row = store.db.select().from(webhooks).where(eq(webhooks.id, id)).get();
  return row ? ok(view(row)) : fail("not_found", `No webhook '${id}'.`);
}

export function deleteWebhook(store: Store, p: Principal, id: string): Result<{ deleted: true }> {
  const found = getWebhook(store, id);
  if (!found.ok) return found;
  store.storage.transactionSync(() => {
    store.db.delete(webhookDeliveries).where(eq(webhookDeliveries.webhookId, id)).run();
    store.db.delete(webhooks).where(eq(webhooks.id, id)).run();
    appendAudit(store.db, {
      actor: p.actor,
      action: "webhook.delete",
      resource: `webhook:${id}`,
      success: true,
      details: { url: found.value.url },
    });
  });
  return ok({ deleted: true });
}

export function deliveries(store: Store, id: string, limit: number): Result<Page<DeliveryView>> {
  const found = getWebhook(store, id);
  if (!found.ok) return found;
  const rows = store.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.webhookId, id))
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit)
    .all();
  return ok({
    items: rows.map((r) => ({
      id: r.id,
      seq: r.seq,
      type: r.type,
      status: r.status,
      attempts: r.attempts,
      nextAt: r.status === "pending" ? r.nextAt : null,
      lastStatus: r.lastStatus ?? null,
      lastError: r.lastError ?? null,
      createdAt: r.createdAt,
      deliveredAt: r.deliveredAt ?? null,
    })),
    nextCursor: null,
  });
}

/**
 * Whether any endpoint is registered (the object then wakes its alarm after writes). Asked after
 * every write: a plain statement, not the query builder (building it cost ~5% of a write).
 */
export const hasWebhooks = (store: Store) => store.sql.exec("SELECT 1 FROM webhooks LIMIT 1").toArray().length > 0;

/** Takes new events into the outbox, as each registrant may see them. */
export function enqueue(store: Store, authorize: Authorize, now = new Date()): void {
  for (const hook of store.db.select().from(webhooks).all()) {
    const events = changesAfter(store, hook.position, null, ENQUEUE_BUDGET);
    if (events.length === 0) continue;
    const p = authorize(store, hook.caller);
    const current = new Map();
    store.storage.transactionSync(() => {
      for (const e of events) {
        if (hook.events && !hook.events.includes(e.type)) continue;
        if (hook.collections && (!e.collection || !hook.collections.includes(e.collection))) continue;
        // Events pass as the registrant's reads would: one who lost access is sent nothing.
        const seen = p.ok ? visibleEvent(store, p.value, e, current) : null;
        if (!seen) continue;
        store.db
          .insert(webhookDeliveries)
          .values({
            webhookId: hook.id,
            seq: e.seq,
            type: e.type,
            // The body is built again at each attempt, as the registrant may then see the event.
            body: "",
            status: "pending",
            nextAt: now.toISOString(),
            createdAt: now.toISOString(),
          })
          .run();
      }
      store.db
        .update(webhooks)
        .set({ position: events.at(-1)?.seq ?? hook.position })
        .where(eq(webhooks.id, hook.id))
        .run();
    });
  }
}

export function signature(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

/**
 * Sends what is due; answers how many were sent and when the next one is due (or null). Each
 * attempt is judged anew, as a read by the registrant now would be: one who lost access, or an
 * event purged, erased or no longer visible to them, is not sent (the delivery fails), and the
 * body is the event as it reads now (pii blanked by an erasure stays blank).
 */
export async function sendDue(
  store: Store,
  authorize: Authorize,
  now = new Date(),
): Promise<{ sent: number; nextAt: number | null }> {
  const due = store.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, "pending"), lte(webhookDeliveries.nextAt, now.toISOString())))
    .orderBy(asc(webhookDeliveries.id))
    .limit(SEND_BUDGET)
    .all();
  const hooks = new Map(
    store.db
      .select()
      .from(webhooks)
      .all()
      .map((h) => [h.id, h]),
  );
  for (const d of due) {
    const hook = hooks.get(d.webhookId);
    if (!hook) continue;
    // Judged right before its own send (the sends before it awaited: access may have changed).
    const p = authorize(store, hook.caller);
    const event = changesAfter(store, d.seq - 1, null, 1).find((e) => e.seq === d.seq);
    const seen = p.ok && event ? visibleEvent(store, p.value, event, new Map()) : null;
    if (!seen) {
      const reason = !p.ok ? "the registrant no longer has access" : "the event is no longer visible to the registrant";
      store.db
        .update(webhookDeliveries)
        .set({ status: "failed", lastError: `Not sent: ${reason}.`, nextAt: now.toISOString() })
        .where(eq(webhookDeliveries.id, d.id))
        .run();
      continue;
    }
    const body = JSON.stringify(seen);
    const t = Math.floor(now.getTime() / 1000);
    const secret = String(store.cipher().decrypt(hook.secret));
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(hook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "silo-signature": signature(secret, body, t),
          "silo-event-id": `${hook.id}:${d.seq}`,
          "user-agent": "Silo-Webhooks/1",
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      error = String(err instanceof Error ? err.message : err).slice(0, 200);
    }
    const attempts = d.attempts + 1;
    const delivered = status !== null && status >= 200 && status < 300;
    const expired = !delivered && now.getTime() + backoffMs(attempts) - Date.parse(d.createdAt) > RETRY_WINDOW_MS;
    store.db
      .update(webhookDeliveries)
      .set({
        attempts,
        lastStatus: status,
        lastError: delivered ? null : (error ?? `HTTP ${status}`),
        status: delivered ? "delivered" : expired ? "failed" : "pending",
        nextAt: new Date(now.getTime() + backoffMs(attempts)).toISOString(),
        deliveredAt: delivered ? now.toISOString() : null,
      })
      .where(eq(webhookDeliveries.id, d.id))
      .run();
  }
  const next = store.db
    .select({ at: webhookDeliveries.nextAt })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.status, "pending"))
    .orderBy(asc(webhookDeliveries.nextAt))
    .limit(1)
    .get();
  return { sent: due.length, nextAt: next ? Date.parse(next.at) : null };
}

/** Delivered and failed deliveries older than the retry window are forgotten (retention). */
export function trimDeliveries(store: Store, before: string): void {
  store.db
    .delete(webhookDeliveries)
    .where(and(sql`${webhookDeliveries.status} != 'pending'`, lt(webhookDeliveries.createdAt, before)))
    .run();
}
