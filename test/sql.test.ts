// The SQL builder is the only place SQL is assembled from strings: identifiers are validated and
// quoted, values bound, and no statement can carry a second one. Hostile input in every position
// of the API is refused or treated as a plain value, and the tenant's tables stay intact.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import * as ddl from "../durable-objects/sql/ddl";
import * as ids from "../durable-objects/sql/identifiers";
import { create, list, tenantWithNotes } from "./data-helpers";
import { call, json } from "./helpers";

const HOSTILE = [
  'a"b',
  "a;drop table members",
  "Notes",
  "1notes",
  "sqlite_master",
  "_cf_kv",
  "members",
  "audit_events",
  "no tes",
  "nötes",
  "x".repeat(64),
  "",
  "id",
  "created_at",
];

describe("identifiers", () => {
  it("refuses every hostile or reserved name", () => {
    for (const name of HOSTILE) expect(ids.isIdentifier(name), name).toBe(false);
    expect(ids.isIdentifier("notes")).toBe(true);
    expect(ids.isIdentifier("a_b_1")).toBe(true);
  });

  it("quotes what it accepts and throws on anything else", () => {
    expect(ids.ident("title")).toBe('"title"');
    expect(() => ids.ident('x" OR 1=1 --')).toThrow(ids.SqlIdentifierError);
    expect(() => ids.collectionTable("members")).toThrow(ids.SqlIdentifierError);
  });

  it("never builds a statement with a second statement in it", () => {
    expect(() => ids.statement("SELECT 1; DROP TABLE members")).toThrow(ids.SqlIdentifierError);
    expect(() => ids.statement("SELECT ?", Array(101).fill(1))).toThrow(ids.SqlIdentifierError);
  });

  it("binds every value of an insert", () => {
    const s = ddl.insertRow("notes", { id: "x'); DROP TABLE members; --", title: "t" });
    expect(s.sql).toBe('INSERT INTO "c_notes" ("id", "title") VALUES (?, ?)');
    expect(s.params).toEqual(["x'); DROP TABLE members; --", "t"]);
  });
});

async function systemTablesIntact(tenant: string) {
  const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant));
  return runInDurableObject(stub, (_i, state) =>
    state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('members', 'audit_events', 'c_notes')",
      )
      .toArray()
      .map((r) => r.name)
      .sort(),
  );
}

describe("injection through the API", () => {
  it("refuses hostile collection and field names with 400", async () => {
    const t = await tenantWithNotes();
    for (const name of HOSTILE) {
      const res = await call("/v1/collections", {
        method: "POST",
        token: t.ownerToken,
        body: { name, fields: [{ name: "a", type: "string" }] },
      });
      expect(res.status, name).toBe(400);
      const field = await call("/v1/collections", {
        method: "POST",
        token: t.ownerToken,
        body: { name: "other", fields: [{ name, type: "string" }] },
      });
      expect(field.status, name).toBe(400);
    }
    expect(await systemTablesIntact(t.id)).toEqual(["audit_events", "c_notes", "members"]);
  });

  it("treats hostile values in filters, likes and records as plain values", async () => {
    const t = await tenantWithNotes();
    const nasty = `x'); DROP TABLE members; --`;
    const rec = await create(t.ownerToken, { title: nasty, body: "100% _real_" });
    expect((await list(t.ownerToken, `title=eq.${encodeURIComponent(nasty)}`)).items.map((r) => r.id)).toEqual([
      rec.id,
    ]);
    expect((await list(t.ownerToken, `title=eq.${encodeURIComponent("' OR '1'='1")}`)).items).toEqual([]);
    expect((await list(t.ownerToken, `body=like.${encodeURIComponent("100%*")}`)).items.map((r) => r.id)).toEqual([
      rec.id,
    ]);
    expect((await list(t.ownerToken, `body=like.${encodeURIComponent("1_0*")}`)).items).toEqual([]);
    expect((await list(t.ownerToken, `title=in.${encodeURIComponent(`a,${nasty}`)}`)).items.map((r) => r.id)).toEqual([
      rec.id,
    ]);
    expect(await systemTablesIntact(t.id)).toEqual(["audit_events", "c_notes", "members"]);
  });

  it("refuses hostile sort, fields, operators and filter names with 400", async () => {
    const t = await tenantWithNotes();
    await create(t.ownerToken, { title: "a" });
    const queries = [
      "sort=title;DROP TABLE members",
      "sort=-(SELECT 1)",
      'sort=title"',
      "fields=title,(SELECT sub FROM members)",
      "title=eqx.a",
      "title=eq",
      "title=or(1=1).x",
      `${encodeURIComponent('title"')}=eq.a`,
      `${encodeURIComponent("title) OR 1=1 --")}=eq.a`,
      "rank=gt.1;DROP",
      "rank=gt.abc",
      "done=eq.maybe",
      "title=is.nothing",
      `title=like.${"x".repeat(51)}`,
      "limit=0",
      "limit=1001",
      "limit=ten",
      "cursor=not-a-cursor",
      "as_of=yesterday",
    ];
    for (const query of queries) {
      const res = await call(`/v1/collections/notes/records?${query}`, { token: t.ownerToken });
      const body = await json(res);
      expect(res.status, `${query}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.code).toBe("validation_failed");
    }
    expect(await systemTablesIntact(t.id)).toEqual(["audit_events", "c_notes", "members"]);
  });
});
