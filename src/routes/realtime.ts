// Live changes (DESIGN §10): GET /v1/realtime upgrades to a WebSocket on the tenant's own object,
// which holds the subscription (hibernation API). The credential is the Authorization header, or
// for browsers (which cannot set headers on a WebSocket) `?ticket=` from POST /v1/realtime/tickets:
// single use, 60 s, and it names its tenant, so the Worker knows which object to ask.
import { createRoute, z } from "@hono/zod-openapi";
import { isTenantId } from "../../durable-objects/contract/tenant-id";
import { tenantCall } from "../caller";
import { ApiError, invalid, isErrorCode } from "../errors";
import { bearerSecurity, commonErrors, jsonResponse, newRouter } from "../openapi";
import { tenantClient, tenantStub } from "../tenant-client";

const TICKET = /^([a-z0-9][a-z0-9-]{1,38}[a-z0-9])\.([0-9a-f]{48})$/;
const Failure = z.object({ code: z.string(), detail: z.string() });

export const realtimeRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/realtime/tickets",
      tags: ["Changes"],
      summary: "A single-use ticket (60 s) for a browser's WebSocket to /v1/realtime?ticket=",
      security: bearerSecurity,
      responses: {
        201: jsonResponse(z.object({ ticket: z.string(), expiresAt: z.string() }), "The ticket."),
        ...commonErrors,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const made = await t.call((s, caller) => s.realtimeTicket(caller));
      return c.json({ ticket: `${t.tenantId}.${made.secret}`, expiresAt: made.expiresAt }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/realtime",
      tags: ["Changes"],
      summary: "WebSocket of the tenant's changes: subscribe with since, get the missed events, then live ones",
      description:
        'Send {"type":"subscribe","collection":"notes"|null,"since":<seq>|null}; the server sends {"type":"change","event":"record.created",...event} for each event after since (the ones you may read, masked as reads are), then {"type":"subscribed","seq":n}, then live events. Close codes: 4403 access withdrawn, 4410 since older than the kept log, 4008 more than 1000 events behind (catch up with GET /v1/changes).',
      security: bearerSecurity,
      request: {
        query: z.object({ ticket: z.string().max(200).optional() }),
        headers: z.object({ upgrade: z.string().optional() }),
      },
      responses: { 101: { description: "Switching Protocols: the WebSocket." }, ...commonErrors },
    }),
    async (c) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw invalid("GET /v1/realtime upgrades to a WebSocket: send Upgrade: websocket.", { field: "upgrade" });
      }
      const ticket = c.req.valid("query").ticket;
      let tenantId: string;
      const headers: Record<string, string> = { upgrade: "websocket" };
      if (ticket !== undefined && !c.get("principal")) {
        const m = TICKET.exec(ticket);
        if (!m || !isTenantId(m[1] as string)) throw new ApiError("unauthenticated", "The ticket is malformed.");
        tenantId = m[1] as string;
        headers["x-silo-ticket"] = m[2] as string;
      } else {
        const call = await tenantCall(c);
        tenantId = call.tenantId;
        headers["x-silo-caller"] = JSON.stringify(call.caller);
      }
      const res = await tenantStub(c.env, tenantId).fetch("https://tenant.internal/realtime", { headers });
      // A response of our own: the object's headers are immutable, and middleware adds to them.
      if (res.status === 101) return new Response(null, { status: 101, webSocket: res.webSocket });
      const failure = Failure.safeParse(await res.json().catch(() => null));
      const code = failure.success ? failure.data.code : "";
      if (!failure.success || !isErrorCode(code)) throw new ApiError("internal", "The tenant refused the connection.");
      throw new ApiError(code, failure.data.detail);
    },
  );
