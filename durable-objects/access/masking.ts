// Masking of pii fields for callers without pii:read: emails keep their first letter and domain
// ("a***@example.com"), anything else becomes "***". Null stays null.

import type { Json } from "../contract/result";

export function maskValue(value: Json | undefined): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") {
    const at = value.lastIndexOf("@");
    if (at > 0 && at < value.length - 1) return `${value[0]}***@${value.slice(at + 1)}`;
  }
  return "***";
}
