// The tamper-evident audit trail: each row carries the SHA-256 of the previous row's hash and its
// own canonical content. Appends are synchronous so they run inside the mutation's transactionSync.

import { createHash, createHmac } from "node:crypto";
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { AuditEvent, Verification } from "../contract/audit";
import { currentOrigin, type Origin } from "./origin";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditInput {
  actor: string;
  action: string;
  resource: string;
  success: boolean;
  details?: Record<string, unknown>;
}

/** JSON with object keys sorted at every depth, so a hash never depends on insertion order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The hashed content of an event: its fields without the hashes (and without anything else).
 * `ip` and `userAgent` are hashed when present; an event without them (every event written
 * before they existed) hashes exactly as it always did, since absent keys are left out.
 */
function contentOf<E extends Omit<ChainEvent, "details"> & { details: unknown }>(e: E) {
  return {
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    action: e.action,
    resource: e.resource,
    success: e.success,
    details: e.details,
    ip: e.ip ?? undefined,
    userAgent: e.userAgent ?? undefined,
  };
}

export function eventHash(
  prevHash: string,
  e: Omit<AuditEvent, "hash" | "prevHash" | "details"> & { details: Record<string, unknown> },
): string {
  const body = canonicalJson(contentOf(e));
  return createHash("sha256").update(prevHash).update("\n").update(body).digest("hex");
}

/** Where a chain trimmed by retention starts: the last trimmed event, signed by the platform. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  at: string;
  signature: string;
}

export function checkpointSignature(masterKey: string, seq: number, hash: string): string {
  return createHmac("sha256", `audit-checkpoint:${masterKey}`).update(`${seq}:${hash}`).digest("hex");
}

/**
 * An erasure rewrites the subject's id in an event (privacy/erasure.ts); the event keeps its
 * original hash, so the chain's links hold, and this signature over the new content (a key
 * derived from MASTER_KEY, as for checkpoints) shows the platform made the change.
 */
export function redactionSignature(masterKey: string, seq: number, hash: string, event: ChainEvent): string {
  return createHmac("sha256", `audit-redaction:${masterKey}`)
    .update(`${seq}:${hash}:${canonicalJson(contentOf(event))}`)
    .digest("hex");
}

/** The hashed content of an event (without its hashes). */
export type ChainEvent = Omit<AuditEvent, "hash" | "prevHash">;

/** One stored event as verification reads it: `redaction` is the signature of a rewritten event. */
export type ChainRow = AuditEvent & { redaction?: string | null };

/**
 * Checks a chain event by event, from a signed checkpoint (or the genesis): sequence numbers
 * without gaps, each link to the previous hash, and each hash over the content (or, for an event
 * an erasure rewrote, a valid redaction signature). The live trail and the archive share it.
 */
export class ChainVerifier {
  private prev: string;
  private expectedSeq: number;
  private count = 0;
  private brokenAt: number | null = null;

  constructor(
    private readonly masterKey: string,
    checkpoint: AuditCheckpoint | null,
  ) {
    this.prev = checkpoint?.hash ?? GENESIS_HASH;
    this.expectedSeq = (checkpoint?.seq ?? 0) + 1;
    if (checkpoint && checkpoint.signature !== checkpointSignature(masterKey, checkpoint.seq, checkpoint.hash)) {
      this.brokenAt = checkpoint.seq;
    }
  }

  /** Takes the next event; false once the chain is broken. */
  push(row: ChainRow): boolean {
    if (this.brokenAt !== null) return false;
    const { hash, prevHash, redaction, ...event } = row;
    const intact =
      event.seq === this.expectedSeq &&
      prevHash === this.prev &&
      (eventHash(this.prev, event) === hash ||
        (typeof redaction === "string" && redaction === redactionSignature(this.masterKey, event.seq, hash, event)));
    if (!intact) {
      this.brokenAt = event.seq;
      return false;
    }
    this.prev = hash;
    this.expectedSeq++;
    this.count++;
    return true;
  }

  /** The sequence number the next event must have. */
  get nextSeq(): number {
    return this.expectedSeq;
  }

  result(): Verification {
    return this.brokenAt === null
      ? { ok: true, count: this.count }
      : { ok: false, brokenAt: this.brokenAt, count: this.count };
  }
}

// biome-ignore lint/suspicious/noExplicitAny: the schema type parameter is irrelevant here
type Db = DrizzleSqliteDODatabase<any> & { $client: DurableObjectStorage };

/** The SQL handle of either kind of argument the appenders take (callers hold one or the other). */
export const sqlOf = (target: Db | SqlStorage): SqlStorage => ("exec" in target ? target : target.$client.sql);

function checkpointOf(sql: SqlStorage): { seq: number; hash: string } | undefined {
  const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'audit_checkpoint'").toArray()[0];
  return row ? (JSON.parse(row.value) as { seq: number; hash: string }) : undefined;
}

/**
 * Appends one event; call inside the transaction of the change it describes. Plain statements,
 * not the query builder: every mutation runs this, and building the queries cost more than
 * running them (test/bench/BENCHMARKS.md, the write ladder). The columns are stored as drizzle
 * would (success 0/1, details as JSON), which the readers in audit-log.ts expect.
 */
export function appendAudit(
  target: Db | SqlStorage,
  input: AuditInput,
  now = new Date(),
  origin: Origin | null = currentOrigin(),
): void {
  const sql = sqlOf(target);
  const last = sql
    .exec<{ seq: number; hash: string }>("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    .toArray()[0];
  // With every earlier event trimmed by retention, the chain continues from its checkpoint.
  const anchor = last ?? checkpointOf(sql);
  const event = {
    seq: (anchor?.seq ?? 0) + 1,
    at: now.toISOString(),
    actor: input.actor,
    action: input.action,
    resource: input.resource,
    success: input.success,
    details: input.details ?? {},
    ip: origin?.ip ?? null,
    userAgent: origin?.userAgent ?? null,
  };
  const prevHash = anchor?.hash ?? GENESIS_HASH;
  sql.exec(
    `INSERT INTO audit_events (seq, at, actor, action, resource, success, details, ip, user_agent, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    event.seq,
    event.at,
    event.actor,
    event.action,
    event.resource,
    event.success ? 1 : 0,
    JSON.stringify(event.details),
    event.ip,
    event.userAgent,
    prevHash,
    eventHash(prevHash, event),
  );
}
