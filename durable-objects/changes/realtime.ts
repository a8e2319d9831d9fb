// Live changes over WebSockets (DESIGN §10) on the Durable Object hibernation API: the object
// accepts the socket (ctx.acceptWebSocket), so an idle connection costs nothing; each socket's
// attachment keeps its caller and position (the last seq it was sent), so a socket outlives the
// object's eviction. A subscriber gets the events after its `since` from the log, then every
// later one after its write commits: in seq order, each once, each as `visibleEvent` (the rule of
// GET /v1/changes and of reads) lets that caller see it. Access is decided again on every
// delivery: a caller whose membership, role or tenant is withdrawn is closed with 4403.
import { type Principal, storedElevated } from "../access/authorize";
import { type Caller, isElevated } from "../contract/caller";
import type { Result } from "../contract/result";
import type { Store } from "../db/store";
import { visibleEvent } from "./change-feed";
import { changesAfter, latestSeq, trimmedThrough } from "./change-log";

/** What a socket remembers across hibernation (its attachment, at most 2 KiB). */
interface Subscriber {
  caller: Caller;
  collection: string | null;
  /** The last seq delivered; null until it subscribes. */
  position: number | null;
}

export const CLOSE = {
  /** Membership, role or tenant status withdrawn. */
  withdrawn: 4403,
  /** `since` is older than the kept log: start again from a read of the data. */
  expired: 4410,
  /** More than MAX_REPLAY events behind: catch up with GET /v1/changes, then subscribe again. */
  behind: 4008,
} as const;

/** Events one subscribe replays at most; a subscriber further behind is closed (CLOSE.behind). */
export const MAX_REPLAY = 1000;
const STEP = 200;
const TICKET_TTL_MS = 60_000;

/** Admits a caller: `stored` for one kept on a socket (authorizeStored: it never joins the tenant). */
type Authorize = (store: Store | null, caller: Caller, stored: boolean) => Result<Principal>;

const digest = async (secret: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret)))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");

const refusal = (failure: { code: string; detail: string }) =>
  Response.json({ code: failure.code, detail: failure.detail }, { status: 400 });

export class Realtime {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly authorize: Authorize,
  ) {}

  /** A single-use ticket for a browser's WebSocket (60 s): only its hash is kept. */
  async ticket(caller: Caller): Promise<{ secret: string; expiresAt: string }> {
    const secret = [...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const expiresAt = Date.now() + TICKET_TTL_MS;
    await this.ctx.storage.put(`ticket:${await digest(secret)}`, { caller, expiresAt });
    return { secret, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The object's half of GET /v1/realtime: the caller (from the Worker, or a ticket) admitted, the socket accepted. */
  async connect(store: Store | null, request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return refusal({ code: "validation_failed", detail: "GET /v1/realtime upgrades to a WebSocket." });
    }
    const caller = await this.callerOf(request);
    if (!caller) return refusal({ code: "unauthenticated", detail: "The ticket is unknown, used or expired." });
    // An elevated caller's access was checked by its request alone: a socket would keep it for ever.
    if (isElevated(caller)) return refusal(storedElevated());
    const p = this.authorize(store, caller, false);
    if (!p.ok) return refusal(p);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const sub: Subscriber = { caller, collection: null, position: null };
    server.serializeAttachment(sub);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** `{"type":"subscribe","collection":"notes"|null,"since":<seq>|null}`: replay, then live. */
  message(store: Store | null, ws: WebSocket, data: string | ArrayBuffer): void {
    const msg = parse(data);
    if (!msg) {
      send(ws, { type: "error", code: "validation_failed", detail: 'Send {"type":"subscribe","since":<seq>|null}.' });
      return;
    }
    const sub = ws.deserializeAttachment() as Subscriber;
    const p = this.authorize(store, sub.caller, true);
    if (!p.ok || !store) {
      ws.close(CLOSE.withdrawn, "access withdrawn");
      return;
    }
    const floor = trimmedThrough(store);
    if (msg.since !== null && msg.since < floor) {
      send(ws, { type: "error", code: "changes_expired", detail: `Events up to ${floor} are no longer kept.` });
      ws.close(CLOSE.expired, "changes expired");
      return;
    }
    const next: Subscriber = { ...sub, collection: msg.collection, position: msg.since ?? latestSeq(store) };
    const delivered = this.deliver(store, ws, next, p.value, MAX_REPLAY);
    if (delivered !== null) send(ws, { type: "subscribed", seq: delivered });
  }

  /**
   * After a change commits: every subscriber is sent the events after its position, access
   * decided again for each (so a withdrawn caller is closed at the write that withdrew it).
   */
  publish(store: Store | null): void {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0 || !store) return;
    for (const ws of sockets) {
      const sub = ws.deserializeAttachment() as Subscriber | null;
      if (!sub) continue;
      const p = this.authorize(store, sub.caller, true);
      if (!p.ok) {
        ws.close(CLOSE.withdrawn, "access withdrawn");
        continue;
      }
      if (sub.position === null) continue;
      if (sub.position < trimmedThrough(store)) {
        // The log was expired under it (a restore): the subscriber must read the data again.
        send(ws, { type: "error", code: "changes_expired", detail: "The change log was reset; read the data again." });
        ws.close(CLOSE.expired, "changes expired");
        continue;
      }
      this.deliver(store, ws, sub, p.value, Number.POSITIVE_INFINITY);
    }
  }

  /** Sends the events after the subscriber's position; its new position, or null if it was closed. */
  private deliver(store: Store, ws: WebSocket, sub: Subscriber, p: Principal, max: number): number | null {
    let position = sub.position ?? 0;
    const current = new Map();
    let sent = 0;
    for (;;) {
      const rows = changesAfter(store, position, sub.collection, STEP);
      for (const e of rows) {
        if (sent >= max) {
          ws.close(CLOSE.behind, `behind: catch up from GET /v1/changes?since=${position}`);
          return null;
        }
        position = e.seq;
        const seen = visibleEvent(store, p, e, current);
        if (seen) {
          // DESIGN's {"type":"change",...event}: the event's own type goes in `event`.
          send(ws, { ...seen, type: "change", event: seen.type });
          sent++;
        }
      }
      if (rows.length < STEP) break;
    }
    ws.serializeAttachment({ ...sub, position });
    return position;
  }

  private async callerOf(request: Request): Promise<Caller | null> {
    const given = request.headers.get("x-silo-caller");
    if (given) return JSON.parse(given) as Caller;
    const secret = request.headers.get("x-silo-ticket");
    if (!secret) return null;
    const key = `ticket:${await digest(secret)}`;
    const ticket = await this.ctx.storage.get<{ caller: Caller; expiresAt: number }>(key);
    if (!ticket) return null;
    await this.ctx.storage.delete(key);
    return ticket.expiresAt > Date.now() ? ticket.caller : null;
  }
}

function parse(data: string | ArrayBuffer): { collection: string | null; since: number | null } | null {
  try {
    const msg = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    if (msg?.type !== "subscribe") return null;
    const since = msg.since ?? null;
    const collection = msg.collection ?? null;
    if (since !== null && (!Number.isInteger(since) || since < 0)) return null;
    if (collection !== null && typeof collection !== "string") return null;
    return { collection, since };
  } catch {
    return null;
  }
}

function send(ws: WebSocket, value: unknown): void {
  try {
    ws.send(JSON.stringify(value));
  } catch {
    // A socket that closed meanwhile: its close handler has it.
  }
}
