// Helpers for tests of tenant data: a tenant with a collection, and typed list/record calls.
import { call, createTenant, json } from "./helpers";

export const NOTES = {
  name: "notes",
  fields: [
    { name: "title", type: "string", required: true, searchable: true },
    { name: "body", type: "text", searchable: true },
    { name: "email", type: "string", pii: true },
    { name: "rank", type: "integer", indexed: true },
    { name: "done", type: "boolean", default: false },
  ],
};

export type Rec = Record<string, unknown> & { id: string; version: number };
export interface Page<T = Rec> {
  items: T[];
  nextCursor: string | null;
}

export async function tenantWithNotes(collection: Record<string, unknown> = NOTES) {
  const t = await createTenant();
  const res = await call("/v1/collections", { method: "POST", token: t.ownerToken, body: collection });
  if (res.status !== 201) throw new Error(`collection: ${res.status} ${await res.text()}`);
  return t;
}

export async function create(token: string, data: Record<string, unknown>, collection = "notes"): Promise<Rec> {
  const res = await call(`/v1/collections/${collection}/records`, { method: "POST", token, body: data });
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return json<Rec>(res);
}

export async function list(token: string, query = "", collection = "notes"): Promise<Page> {
  const res = await call(`/v1/collections/${collection}/records${query ? `?${query}` : ""}`, { token });
  if (res.status !== 200) throw new Error(`list: ${res.status} ${await res.text()}`);
  return json<Page>(res);
}
