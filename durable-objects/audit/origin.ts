// Where the request being served came from (its ip and user agent, from the Worker's Caller):
// set around a request's synchronous work, read by every audit event appended meanwhile.
import type { Caller } from "../contract/caller";

export interface Origin {
  ip: string | null;
  userAgent: string | null;
}

let current: Origin | null = null;

/** Runs synchronous work on behalf of `caller`: the audit events it appends carry its origin. */
export function withOrigin<T>(caller: Caller, work: () => T): T {
  if (!caller.ip && !caller.userAgent) return work();
  const before = current;
  current = { ip: caller.ip ?? null, userAgent: caller.userAgent ?? null };
  try {
    return work();
  } finally {
    current = before;
  }
}

export const currentOrigin = (): Origin | null => current;
