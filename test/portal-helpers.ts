// Driving the portal as a browser would: forms posted url-encoded, redirects not followed, every
// answer checked against /openapi.json.
import { checkedFetch } from "./openapi-check";

export const BASE = "https://silo.test";

export async function browse(
  path: string,
  init: { method?: string; cookie?: string; form?: Record<string, string>; origin?: string } = {},
) {
  const headers: Record<string, string> = {};
  if (init.cookie) headers.cookie = init.cookie;
  if (init.origin) headers.origin = init.origin;
  let body: string | undefined;
  if (init.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(init.form).toString();
  }
  return checkedFetch(
    new Request(`${BASE}${path}`, { method: init.method ?? "GET", headers, body, redirect: "manual" }),
  );
}
