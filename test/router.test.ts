// The Worker's router (src/router.ts): Hono's RegExpRouter with a colon inside a segment read as
// a letter. It must route every path exactly as Hono's TrieRouter (the router it replaced) does:
// the same handlers in the same order with the same parameters, for every route of the app.
import type { Result } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { ContractRouter } from "../src/router";
import { adminToken, call, json } from "./helpers";

type Matched = { route: RouterRoute; params: Record<string, string> }[];

function matched(result: Result<RouterRoute>): Matched {
  if (result.length === 2) {
    const [handlers, stash] = result;
    return handlers.map(([route, map]) => ({
      route,
      params: Object.fromEntries(Object.entries(map).map(([k, i]) => [k, stash[i] as string])),
    }));
  }
  return result[0].map(([route, params]) => ({ route, params: { ...params } }));
}

/** Concrete paths for a route's pattern: plain values, values holding a colon, and "new". */
function samples(path: string): string[] {
  return ["x", "a:b", "new"].map((v) =>
    path
      .replace(/:[a-zA-Z]+\{\.\+\}/g, `docs/${v}.txt`)
      .replace(/\/:[a-zA-Z]+/g, `/${v}`)
      .replace(/\*$/, "deep/er"),
  );
}

describe("the Worker's router", () => {
  it("is the app's router and routes every path of the app as the TrieRouter does", () => {
    const app = createApp();
    expect(app.router).toBeInstanceOf(ContractRouter);
    const fast = new ContractRouter<RouterRoute>();
    const trie = new TrieRouter<RouterRoute>();
    for (const route of app.routes) {
      fast.add(route.method, route.path, route);
      trie.add(route.method, route.path, route);
    }
    const paths = new Set([
      ...app.routes.flatMap((r) => samples(r.path)),
      "/v1/collections/notes/records:batch",
      "/v1/collections/notes/records:batchy",
      "/v1/collections/notes/records:",
      "/v1/collections/notes/recordsbatch",
      "/v1/collections/notes/records/a:b/history",
      "/admin/tenants/new",
      "/nowhere",
      "/",
    ]);
    let compared = 0;
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]) {
      for (const path of paths) {
        const want = matched(trie.match(method, path));
        expect(matched(fast.match(method, path)), `${method} ${path}`).toEqual(want);
        compared += want.length;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("reads a colon inside a segment as a letter: records:batch is the batch route, nothing like it is", async () => {
    const r = new ContractRouter<string>();
    r.add("POST", "/v1/collections/:name/records:batch", "batch");
    r.add("POST", "/v1/collections/:name/records/:id/restore", "restore");
    const routes = (path: string) => matched(r.match("POST", path) as never).map((m) => [m.route, m.params]);
    expect(routes("/v1/collections/notes/records:batch")).toEqual([["batch", { name: "notes" }]]);
    expect(routes("/v1/collections/notes/records:other")).toEqual([]);
    expect(routes("/v1/collections/notes/recordsbatch")).toEqual([]);
    expect(routes("/v1/collections/notes/records/a:b/restore")).toEqual([["restore", { name: "notes", id: "a:b" }]]);
    // Over HTTP: the batch route checks its body (it was routed); its near miss is no route.
    const admin = await adminToken();
    const batch = await call("/v1/collections/notes/records:batch", { method: "POST", token: admin, body: {} });
    expect(batch.status).toBe(400);
    expect((await json(batch)).code).toBe("validation_failed");
    const miss = await call("/v1/collections/notes/records:batchy", { method: "POST", token: admin, body: {} });
    expect(miss.status).toBe(404);
    expect((await json(miss)).code).toBe("not_found");
  });
});
