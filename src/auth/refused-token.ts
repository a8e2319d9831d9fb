// A bearer token that failed verification but names a tenant (a wrong key, an expired or forged
// token) is put on that tenant's audit trail as auth.refused. Its content is trusted only to
// name the tenant: only a literal tenant id counts (an organisation id would need a registry
// look-up per forged token), the claimed sub is kept as a detail. Against floods: one note per
// tenant per NOTE_EVERY_MS from each isolate, carrying how many were refused meanwhile; the
// object caps what it records per flush (durable-objects/audit/access-audit.ts). The note is
// sent after the answer (waitUntil): a refusal is never slowed by it.
import type { Context } from "hono";
import { decodeJwt } from "jose";
import { isTenantId } from "../../durable-objects/contract/tenant-id";
import { originOf } from "../caller";
import type { AppEnv } from "../context";
import { platformClient } from "../tenant-client";
import { firstClaim } from "./claims";
import { identityConfig } from "./token-identity";

export const NOTE_EVERY_MS = 10_000;
const lastNote = new Map<string, { at: number; refused: number }>();

export function noteRefusedToken(c: Context<AppEnv>, token: string, reason: string): void {
  let payload: ReturnType<typeof decodeJwt>;
  try {
    payload = decodeJwt(token);
  } catch {
    return; // not a JWT at all: it names nobody
  }
  const tenant = firstClaim(payload, identityConfig(c.env).tenantClaims)?.value;
  if (typeof tenant !== "string" || !isTenantId(tenant)) return;
  const now = Date.now();
  const seen = lastNote.get(tenant);
  if (seen && now - seen.at < NOTE_EVERY_MS) {
    seen.refused++;
    return;
  }
  if (lastNote.size > 10_000) lastNote.clear();
  lastNote.set(tenant, { at: now, refused: 0 });
  const note = platformClient(c.env, tenant).call((s) =>
    s.noteAccess({
      action: "auth.refused",
      actor: "anonymous",
      resource: "tenant",
      details: {
        reason: reason.slice(0, 200),
        claimedSub: typeof payload.sub === "string" ? payload.sub.slice(0, 255) : null,
        refusedSinceLastNote: seen?.refused ?? 0,
        requestId: c.get("requestId"),
      },
      ...originOf(c),
    }),
  );
  c.executionCtx.waitUntil(note.catch(() => undefined)); // an unknown tenant: nothing to note
}

/** Tests: forget the per-isolate throttle. */
export function resetRefusedNotes(): void {
  lastNote.clear();
}
