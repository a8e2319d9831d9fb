// Access audit. Every event a request appends carries where it came from (the caller's ip and
// user agent, set around the request's synchronous work). Reads are audited too where the tenant
// asked for it (collections and files marked auditReads, exports) and so are refused
// credentials: those events gather in memory and are appended in one transaction with the usage
// flush (the next write, a full buffer, or a short alarm), so an audited read costs no write of
// its own. Refused credentials are capped per flush, the rest counted in one summary event, so a
// flood of bad tokens cannot flood the trail.
import type { Db } from "../db/store";
import { type AuditInput, appendAudit } from "./audit-chain";
import { currentOrigin, type Origin } from "./origin";

/** Refused credentials kept per flush; beyond them only a count is kept. */
export const MAX_REFUSED_PER_FLUSH = 20;
/** Buffered events that make the next call flush at once. */
export const ACCESS_FLUSH_AFTER = 200;
/** How soon buffered access events are written when nothing else writes first. */
export const ACCESS_FLUSH_DELAY_MS = 5_000;

interface Pending {
  input: AuditInput;
  at: Date;
  origin: Origin | null;
}

class AccessBuffer {
  events: Pending[] = [];
  refused = 0;
  suppressed = 0;
}

const buffers = new WeakMap<DurableObjectStorage, AccessBuffer>();

function bufferOf(storage: DurableObjectStorage): AccessBuffer {
  let b = buffers.get(storage);
  if (!b) {
    b = new AccessBuffer();
    buffers.set(storage, b);
  }
  return b;
}

/** Notes an audited read (record.read, file.downloaded, export.downloaded) for the next flush. */
export function noteAccess(storage: DurableObjectStorage, input: AuditInput, origin = currentOrigin()): void {
  bufferOf(storage).events.push({ input, at: new Date(), origin });
}

/** Notes a refused credential naming this tenant; past the cap only counted. */
export function noteRefused(storage: DurableObjectStorage, input: AuditInput, origin = currentOrigin()): void {
  const b = bufferOf(storage);
  if (b.refused >= MAX_REFUSED_PER_FLUSH) {
    b.suppressed++;
    return;
  }
  b.refused++;
  b.events.push({ input, at: new Date(), origin });
}

export function pendingAccess(storage: DurableObjectStorage): number {
  const b = buffers.get(storage);
  return b ? b.events.length + (b.suppressed ? 1 : 0) : 0;
}

/** Appends what is buffered; call inside a transaction (the usage flush's). */
export function flushAccess(storage: DurableObjectStorage, db: Db): void {
  const b = buffers.get(storage);
  if (!b || (b.events.length === 0 && b.suppressed === 0)) return;
  for (const e of b.events) appendAudit(db, e.input, e.at, e.origin);
  if (b.suppressed) {
    appendAudit(db, {
      actor: "system",
      action: "auth.refused",
      resource: "tenant",
      success: false,
      details: { suppressed: b.suppressed, reason: "more refused credentials than are recorded one by one" },
    });
  }
  buffers.delete(storage);
}
