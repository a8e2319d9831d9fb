// Tenant ids: lowercase, 3–40 characters, never reissued.

export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/;

export const isTenantId = (value: unknown): value is string =>
  typeof value === "string" && TENANT_ID_PATTERN.test(value);

/** A fresh id for a tenant created without one: "t" + 15 base-36 characters. */
export function generateTenantId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return `t${Array.from(bytes, (b) => (b % 36).toString(36)).join("")}`;
}
