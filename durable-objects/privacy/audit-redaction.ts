// Erasure in the audit trail: every event naming the subject (as actor, in its resource or its
// details) is rewritten with the pseudonym in place, keeping its original hash so the chain's
// links hold, and a redaction signature over the new content is stored beside it (meta rows
// "audit_redaction:<seq>") so verification accepts the rewrite and nothing else. Nothing that
// names the subject is left in the table, so answers, exports and the archive are clean alike.
import { type ChainEvent, redactionSignature } from "../audit/audit-chain";
import type { Json, JsonObject } from "../contract/result";
import type { Store } from "../db/store";

export interface SubjectNames {
  sub: string;
  pseudonym: string;
  /** Lower-cased emails of the subject. */
  emails: string[];
}

/** "user:<id>" and "member:<id>" name the subject in actors, resources and details. */
function replaceRef(value: string, n: SubjectNames): string {
  for (const kind of ["user", "member"]) if (value === `${kind}:${n.sub}`) return `${kind}:${n.pseudonym}`;
  return value;
}

/** In details a bare id or an email names them too (e.g. a provisioned tenant's `owner`). */
function replaceName(value: string, n: SubjectNames): string {
  if (value === n.sub || n.emails.includes(value.toLowerCase())) return n.pseudonym;
  return replaceRef(value, n);
}

function replaceDeep(value: Json, n: SubjectNames): Json {
  if (typeof value === "string") return replaceName(value, n);
  if (Array.isArray(value)) return value.map((v) => replaceDeep(v, n));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [replaceName(k, n), replaceDeep(v, n)]));
  }
  return value;
}

const likeOf = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Rewrites the events naming the subject; call inside the erasure's transaction. */
export function redactAudit(store: Store, masterKey: string, n: SubjectNames): number {
  const needles = [n.sub, ...n.emails].map(likeOf);
  const where = needles.map(
    () => "(actor LIKE ? ESCAPE '\\' OR resource LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\')",
  );
  const rows = store.sql
    .exec<{
      seq: number;
      at: string;
      actor: string;
      action: string;
      resource: string;
      success: number;
      details: string;
      hash: string;
      ip: string | null;
      user_agent: string | null;
    }>(
      `SELECT seq, at, actor, action, resource, success, details, hash, ip, user_agent FROM audit_events WHERE ${where.join(" OR ")}`,
      ...needles.flatMap((l) => [l, l, l]),
    )
    .toArray();
  let redacted = 0;
  for (const row of rows) {
    const details = JSON.parse(row.details) as JsonObject;
    const event: ChainEvent = {
      seq: row.seq,
      at: row.at,
      actor: replaceRef(row.actor, n),
      action: row.action,
      resource: replaceRef(row.resource, n),
      success: row.success === 1,
      details: replaceDeep(details, n) as JsonObject,
      ip: row.ip,
      userAgent: row.user_agent,
    };
    if (event.actor === row.actor && event.resource === row.resource && JSON.stringify(event.details) === row.details) {
      continue; // the text matched only inside a longer value (another subject's id, a path)
    }
    store.sql.exec(
      "UPDATE audit_events SET actor = ?, resource = ?, details = ? WHERE seq = ?",
      event.actor,
      event.resource,
      JSON.stringify(event.details),
      row.seq,
    );
    store.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      `audit_redaction:${row.seq}`,
      redactionSignature(masterKey, row.seq, row.hash, event),
    );
    redacted++;
  }
  return redacted;
}
