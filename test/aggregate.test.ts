// GET /v1/collections/{name}/aggregate: every metric and grouping equals a hand count over the
// seeded records; the caller's record ACL decides which rows count; pii fields are refused to
// callers who see them masked, encrypted ones to everyone; bad metrics and groupings are a 400.
import { beforeAll, describe, expect, it } from "vitest";
import { create } from "./data-helpers";
import { call, createTenant, json, userToken } from "./helpers";

const SALES = {
  name: "sales",
  acl: true,
  fields: [
    { name: "region", type: "string" },
    { name: "amount", type: "number" },
    { name: "qty", type: "integer" },
    { name: "closed_at", type: "datetime" },
    { name: "won", type: "boolean" },
    { name: "email", type: "string", pii: true },
    { name: "secret", type: "string", encrypted: true },
    { name: "notes", type: "text" },
  ],
};

interface Sale {
  region: string;
  amount: number;
  qty: number;
  closed_at: string;
  won: boolean;
  visibility: "private" | "public";
}

// Alice (owner) sees everything; Bob (editor) sees his own records and the public ones.
const ALICE: Sale[] = [
  { region: "north", amount: 100, qty: 1, closed_at: "2026-01-05T10:00:00Z", won: true, visibility: "private" },
  { region: "north", amount: 250.5, qty: 3, closed_at: "2026-01-05T23:30:00Z", won: false, visibility: "public" },
  { region: "south", amount: 40, qty: 2, closed_at: "2026-02-10T08:00:00Z", won: true, visibility: "private" },
  // 01:00 at +02:00 is 23:00 UTC the day before: days and months are UTC.
  { region: "east", amount: 75, qty: 5, closed_at: "2026-03-01T01:00:00+02:00", won: true, visibility: "public" },
];
const BOB: Sale[] = [
  { region: "south", amount: 10, qty: 1, closed_at: "2026-02-11T09:00:00Z", won: false, visibility: "private" },
  { region: "north", amount: 5, qty: 4, closed_at: "2026-01-06T12:00:00Z", won: true, visibility: "private" },
];
const ALL = [...ALICE, ...BOB];
const SEEN_BY_BOB = [...BOB, ...ALICE.filter((s) => s.visibility === "public")];

interface Item {
  group: string | number | boolean | null;
  value: number | string | null;
}

let alice: string;
let bob: string;

beforeAll(async () => {
  const t = await createTenant();
  alice = t.ownerToken;
  bob = await userToken(t.id, "bob");
  const made = await call("/v1/collections", { method: "POST", token: alice, body: SALES });
  expect(made.status, await made.clone().text()).toBe(201);
  await call("/v1/members", { method: "POST", token: alice, body: { sub: "bob", roles: ["editor"] } });
  for (const s of ALICE) await create(alice, { ...s, email: "a@example.com", secret: "x" }, "sales");
  for (const s of BOB) await create(bob, { ...s, email: "b@example.com" }, "sales");
  // A deleted record counts for nobody.
  const gone = await create(
    alice,
    { region: "north", amount: 1000, qty: 9, closed_at: "2026-01-05T00:00:00Z" },
    "sales",
  );
  await call(`/v1/collections/sales/records/${gone.id}`, { method: "DELETE", token: alice });
});

async function aggregate(token: string, query: string) {
  const res = await call(`/v1/collections/sales/aggregate?${query}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await json<{ items: Item[] }>(res)).items;
}

/** The hand count: groups ascending, as the route answers them. */
function byGroup(rows: Sale[], key: (s: Sale) => string, value: (rs: Sale[]) => number): Item[] {
  const groups = new Map<string, Sale[]>();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return [...groups.keys()].sort().map((g) => ({ group: g, value: value(groups.get(g) ?? []) }));
}

const sum = (rs: Sale[]) => rs.reduce((n, r) => n + r.amount, 0);
const utcDay = (s: Sale) => new Date(s.closed_at).toISOString().slice(0, 10);
const utcMonth = (s: Sale) => new Date(s.closed_at).toISOString().slice(0, 7);

describe("aggregates equal a hand count", () => {
  it("count, sum, avg, min and max over every live record", async () => {
    expect(await aggregate(alice, "")).toEqual([{ group: null, value: ALL.length }]);
    expect(await aggregate(alice, "metric=count")).toEqual([{ group: null, value: ALL.length }]);
    expect((await aggregate(alice, "metric=sum:amount"))[0]?.value).toBeCloseTo(sum(ALL));
    expect((await aggregate(alice, "metric=avg:amount"))[0]?.value).toBeCloseTo(sum(ALL) / ALL.length);
    expect(await aggregate(alice, "metric=min:amount")).toEqual([{ group: null, value: 5 }]);
    expect(await aggregate(alice, "metric=max:qty")).toEqual([{ group: null, value: 5 }]);
    expect(await aggregate(alice, "metric=max:closed_at")).toEqual([
      { group: null, value: "2026-03-01T01:00:00+02:00" },
    ]);
  });

  it("grouped by a field, by day() and by month() (UTC), with the records filters", async () => {
    expect(await aggregate(alice, "groupBy=region")).toEqual(
      byGroup(
        ALL,
        (s) => s.region,
        (rs) => rs.length,
      ),
    );
    const sums = await aggregate(alice, "metric=sum:amount&groupBy=region");
    const expected = byGroup(ALL, (s) => s.region, sum);
    expect(sums.map((i) => i.group)).toEqual(expected.map((i) => i.group));
    for (const [n, i] of sums.entries()) expect(i.value).toBeCloseTo(expected[n]?.value as number);
    expect(await aggregate(alice, "groupBy=day(closed_at)")).toEqual(byGroup(ALL, utcDay, (rs) => rs.length));
    expect(await aggregate(alice, "metric=sum:qty&groupBy=month(closed_at)")).toEqual(
      byGroup(ALL, utcMonth, (rs) => rs.reduce((n, r) => n + r.qty, 0)),
    );
    expect(await aggregate(alice, "groupBy=won")).toEqual([
      { group: false, value: ALL.filter((s) => !s.won).length },
      { group: true, value: ALL.filter((s) => s.won).length },
    ]);
    const filtered = ALL.filter((s) => s.region === "north" && s.amount > 50);
    expect(await aggregate(alice, "region=eq.north&amount=gt.50&groupBy=month(closed_at)")).toEqual(
      byGroup(filtered, utcMonth, (rs) => rs.length),
    );
    // Days of the record's own timestamps work the same way.
    const today = new Date().toISOString().slice(0, 10);
    expect(await aggregate(alice, "groupBy=day(createdAt)")).toEqual([{ group: today, value: ALL.length }]);
  });
});

describe("aggregates respect access", () => {
  it("a member who sees only their own and public records gets only their counts", async () => {
    expect(await aggregate(bob, "")).toEqual([{ group: null, value: SEEN_BY_BOB.length }]);
    expect(await aggregate(bob, "groupBy=region")).toEqual(
      byGroup(
        SEEN_BY_BOB,
        (s) => s.region,
        (rs) => rs.length,
      ),
    );
    expect((await aggregate(bob, "metric=sum:amount"))[0]?.value).toBeCloseTo(sum(SEEN_BY_BOB));
  });

  it("a pii field is refused to a caller who sees it masked; an encrypted one to everyone", async () => {
    for (const q of ["groupBy=email", "metric=min:email", "email=eq.b@example.com"]) {
      const res = await call(`/v1/collections/sales/aggregate?${q}`, { token: bob });
      expect(res.status, q).toBe(403);
      expect((await json(res)).code).toBe("forbidden");
    }
    // The owner holds pii:read: grouping by the pii field is theirs to do.
    expect((await aggregate(alice, "groupBy=email")).length).toBe(2);
    const sealed = await call("/v1/collections/sales/aggregate?groupBy=secret", { token: alice });
    expect(sealed.status).toBe(400);
    expect((await json(sealed)).code).toBe("validation_failed");
  });
});

describe("bad aggregates are refused", () => {
  it.each([
    "metric=median:amount",
    "metric=sum",
    "metric=sum:region",
    "metric=avg:nosuch",
    "groupBy=nosuch",
    "groupBy=notes",
    "groupBy=day(region)",
    "groupBy=week(closed_at)",
    "region=zz.north",
    "sort=region",
    "limit=0",
  ])("%s → 400 validation_failed", async (q) => {
    const res = await call(`/v1/collections/sales/aggregate?${q}`, { token: alice });
    expect(res.status).toBe(400);
    expect((await json(res)).code).toBe("validation_failed");
  });

  it("more groups than the limit is a 400, never a silently cut answer", async () => {
    expect((await aggregate(alice, "groupBy=region&limit=3")).length).toBe(3);
    const res = await call("/v1/collections/sales/aggregate?groupBy=day(closed_at)&limit=2", { token: alice });
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ code: "validation_failed", limit: 2 });
  });

  it("an unknown collection is a 404", async () => {
    expect((await call("/v1/collections/nosuch/aggregate", { token: alice })).status).toBe(404);
  });
});
