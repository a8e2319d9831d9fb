// Masking of pii fields for callers without pii:read: emails keep their first letter and domain
// ("a***@example.com"), anything else becomes "***". Null stays null.

import type { Json } from "../contract/result";
import { type Failure, fail } from "../contract/result";
import type { Principal } from "./authorize";

export function maskValue(value: Json | undefined): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") {
    const at = value.lastIndexOf("@");
    if (at > 0 && at < value.length - 1) return `${value[0]}***@${value.slice(at + 1)}`;
  }
  return "***";
}

/**
 * A surface that cannot mask (an export bundle is the tenant's raw data, pii in clear) is for
 * callers holding pii:read only.
 */
export function unmaskableProblem(p: Pick<Principal, "permissions">, what: string): Failure | null {
  return p.permissions.has("pii:read") ? null : fail("forbidden", `${what} carry pii in clear: they need pii:read.`);
}
