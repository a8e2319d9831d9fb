// Reads the claims that carry the tenant and the roles from a verified token, in the shapes real
// identity providers use: a configured list of claim names, first present wins, each tried as a
// literal top-level claim (`custom:tenantId`, `https://example.com/roles`) and then as a dotted
// path into nested objects (`o.id` in Clerk v2 session tokens, `firebase.tenant`).
import type { JWTPayload } from "jose";
import { listOf } from "./claim-checks";

/** "a, b ,c" → ["a", "b", "c"]; an empty or missing setting gives the fallback. */
export function claimList(setting: string | undefined, fallback: string): string[] {
  const names = listOf(setting);
  return names.length > 0 ? names : [fallback];
}

/**
 * One claim by name: the literal key wins over the path, so a namespaced URL claim with dots in
 * it is never split. Only own properties are followed (never a prototype's `constructor`).
 */
export function readClaim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  if (!name.includes(".")) return undefined;
  let node: unknown = payload;
  for (const key of name.split(".")) {
    if (typeof node !== "object" || node === null || Array.isArray(node) || !Object.hasOwn(node, key)) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The first listed claim that is present (not undefined or null), with its name. */
export function firstClaim(payload: JWTPayload, names: string[]): { name: string; value: unknown } | null {
  for (const name of names) {
    const value = readClaim(payload, name);
    if (value !== undefined && value !== null) return { name, value };
  }
  return null;
}
