// Masking of pii fields for callers without pii:read: emails keep their first letter and domain
// ("a***@example.com"), anything else becomes "***". Null stays null.

export function maskValue(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === "string") {
    const at = value.lastIndexOf("@");
    if (at > 0 && at < value.length - 1) return `${value[0]}***@${value.slice(at + 1)}`;
  }
  return "***";
}
