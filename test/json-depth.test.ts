// Deeply nested JSON is refused by the Worker (400) before it reaches a tenant's object, where
// structuring it for the RPC call used to overflow the stack (a 500).
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../src/middleware/json-depth";
import { type Rec, tenantWithNotes } from "./data-helpers";
import { call, json } from "./helpers";

const DOC = {
  name: "docs",
  fields: [
    { name: "title", type: "string" },
    { name: "payload", type: "json" },
  ],
};

/** A record body whose own object is level 1, so `payload` holds depth - 1 levels of arrays. */
const bodyOfDepth = (depth: number) => `{"title":"deep","payload":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`;

describe("JSON nesting limit", () => {
  it(`accepts ${MAX_JSON_DEPTH} levels and stores them`, async () => {
    const t = await tenantWithNotes(DOC);
    const res = await call("/v1/collections/docs/records", {
      method: "POST",
      token: t.ownerToken,
      body: bodyOfDepth(64),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const rec = await json<Rec>(res);
    let level = rec.payload as unknown[];
    let depth = 2;
    while (Array.isArray(level[0])) {
      level = level[0] as unknown[];
      depth++;
    }
    expect(depth).toBe(64);
  });

  it("refuses 65 levels, and 2,000 levels in a 4 KB body, with 400 validation_failed (never a 500)", async () => {
    const t = await tenantWithNotes(DOC);
    for (const depth of [65, 2000]) {
      const res = await call("/v1/collections/docs/records", {
        method: "POST",
        token: t.ownerToken,
        body: bodyOfDepth(depth),
      });
      expect(res.status, String(depth)).toBe(400);
      expect(await json(res)).toMatchObject({ code: "validation_failed", field: "body" });
    }
    const patched = await call("/v1/collections/docs", {
      method: "PATCH",
      token: t.ownerToken,
      body: `{"add":[${"[".repeat(70)}${"]".repeat(70)}]}`,
    });
    expect(patched.status).toBe(400);
    const listed = await json<{ items: unknown[] }>(
      await call("/v1/collections/docs/records", { token: t.ownerToken }),
    );
    expect(listed.items).toEqual([]);
  });

  it("counts brackets inside strings as text, and scans without recursion", () => {
    expect(nestsDeeperThan(`{"a":"${"[".repeat(500)}"}`)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"${"{".repeat(500)}"}`)).toBe(false);
    expect(nestsDeeperThan(`${"[".repeat(64)}${"]".repeat(64)}`)).toBe(false);
    expect(nestsDeeperThan(`${"[".repeat(65)}${"]".repeat(65)}`)).toBe(true);
    expect(nestsDeeperThan("[".repeat(1_000_000))).toBe(true);
  });
});
