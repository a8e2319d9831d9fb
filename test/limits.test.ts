// Rate limits (a token bucket in each tenant's object), the monthly request quota and usage
// metering: exact, isolated per tenant, and keyed on the verified tenant only.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TokenBucket } from "../durable-objects/gate/rate-limit";
import { FLUSH_AFTER_COUNTS } from "../durable-objects/usage/usage-meter";
import { withRetries } from "../src/tenant-client";
import { create, tenantWithNotes } from "./data-helpers";
import { adminToken, call, createTenant, json, uniqueId, userToken } from "./helpers";

describe("token bucket", () => {
  it("admits burst + rate × time over a 10-second flood, within 2%", () => {
    for (const [rate, burst] of [
      [50, 100],
      [5, 5],
      [200, 400],
    ] as const) {
      const t0 = 1_000_000;
      const bucket = new TokenBucket(rate, burst, t0);
      let admitted = 0;
      for (let ms = 0; ms < 10_000; ms += 1) {
        for (let k = 0; k < 3; k++) if (bucket.take(t0 + ms).allowed) admitted++;
      }
      const expected = burst + rate * 10;
      expect(Math.abs(admitted - expected) / expected, `${rate}/s burst ${burst}: ${admitted}`).toBeLessThanOrEqual(
        0.02,
      );
    }
  });

  it("refills at the configured rate and says when to retry", () => {
    const bucket = new TokenBucket(2, 4, 0);
    for (let i = 0; i < 4; i++) expect(bucket.take(0).allowed).toBe(true);
    const refused = bucket.take(0);
    expect(refused.allowed).toBe(false);
    expect(refused.state).toMatchObject({ limit: 4, remaining: 0, retryAfter: 1 });
    expect(bucket.take(500).allowed).toBe(true); // 0.5 s at 2/s = one token
    expect(bucket.take(500).allowed).toBe(false);
    expect(bucket.take(2500).state.remaining).toBe(3); // full again after 2 s: 4 - 1
  });
});

describe("per-tenant rate limits", () => {
  it("refuses over the limit with 429, Retry-After and RateLimit headers, and leaves other tenants alone", async () => {
    const a = await createTenant(uniqueId(), "alice", { limits: { requestsPerSecond: 1, burst: 3 } });
    const b = await createTenant();
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await call("/v1/me", { token: a.ownerToken });
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      expect(res.headers.get("ratelimit-policy")).toBe('"tenant";q=3;w=3');
      const other = await call("/v1/me", { token: b.ownerToken });
      expect(other.status).toBe(200);
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(refused?.headers.get("retry-after")).toBe("1");
    expect(refused?.headers.get("ratelimit")).toMatch(/^"tenant";r=0;t=\d+$/);
    expect((await json(refused as Response)).code).toBe("rate_limited");
  });

  it("gives an API key half the tenant's burst of its own: the key is refused while members still get in", async () => {
    const t = await createTenant(uniqueId(), "alice", { limits: { requestsPerSecond: 1, burst: 6 } });
    const created = await call("/v1/api-keys", {
      method: "POST",
      token: t.ownerToken,
      body: { name: "etl", scopes: ["records:read"] },
    });
    expect(created.status).toBe(201);
    const { key } = await json<{ key: string }>(created);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call("/v1/me", { token: key })).status);
    // The key's own bucket holds 3 of the tenant's 6; the tenant's bucket still has room.
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
  });

  it("cannot be bypassed by rotating headers or users: the limit keys on the verified tenant", async () => {
    const t = await createTenant(uniqueId(), "alice", {
      limits: { requestsPerSecond: 1, burst: 2 },
      settings: { autoJoinRole: "viewer" },
    });
    const tokens = [t.ownerToken, await userToken(t.id, "bob"), await userToken(t.id, "carol")];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call("/v1/me", {
        token: tokens[i % 3],
        headers: {
          "x-forwarded-for": `10.0.0.${i}`,
          "cf-connecting-ip": `192.0.2.${i}`,
          "x-request-id": `req-${i}`,
          "user-agent": `agent-${i}`,
          "x-silo-tenant": t.id,
        },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
  });

  it("a lowered limit applies at once", async () => {
    const t = await createTenant();
    expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    await call(`/v1/tenants/${t.id}`, {
      method: "PUT",
      token: await adminToken(),
      body: { limits: { requestsPerSecond: 1, burst: 1 } },
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call("/v1/me", { token: t.ownerToken })).status);
    expect(statuses).toContain(429);
  });
});

describe("quotas and usage", () => {
  it("refuses requests past the monthly quota with the limit and current use", async () => {
    const t = await createTenant(uniqueId(), "alice", { limits: { maxRequestsPerMonth: 3 } });
    for (let i = 0; i < 3; i++) expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    const res = await call("/v1/me", { token: t.ownerToken });
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ code: "quota_exceeded", limit: 3, current: 3 });
  });

  it("keeps the quota across a restart: a started object's first request sees the month's stored use", async () => {
    const t = await createTenant(uniqueId(), "alice", { limits: { maxRequestsPerMonth: 3 } });
    // The first request of a started object writes its counts at once, the two after it with a write.
    for (let i = 0; i < 2; i++) expect((await call("/v1/me", { token: t.ownerToken })).status).toBe(200);
    await call("/v1/collections", { method: "POST", token: t.ownerToken, body: { name: "n", fields: [] } });
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    await evictDurableObject(stub);
    const res = await call("/v1/me", { token: t.ownerToken });
    expect(res.status).toBe(403);
    expect(await json(res)).toMatchObject({ code: "quota_exceeded", limit: 3, current: 3 });
  });

  it("counts requests, reads, writes and searches exactly, and flushes them without a write per read", async () => {
    const t = await tenantWithNotes(); // 1 write (the collection)
    const a = await create(t.ownerToken, { title: "a" });
    await create(t.ownerToken, { title: "b" });
    await create(t.ownerToken, { title: "c" }); // 4 writes
    for (let i = 0; i < 4; i++) await call(`/v1/collections/notes/records/${a.id}`, { token: t.ownerToken }); // 4 reads
    for (let i = 0; i < 2; i++) await call("/v1/search?q=a", { token: t.ownerToken }); // 2 reads, 2 searches
    await call(`/v1/collections/notes/records/${a.id}`, { method: "PATCH", token: t.ownerToken, body: { title: "A" } });

    const expected = { requests: 11, writes: 5, reads: 6, searchQueries: 2, records: 3 };
    const usage = await json<{ current: Record<string, number>; limits: Record<string, number> }>(
      await call(`/v1/tenants/${t.id}/usage`, { token: await adminToken() }),
    );
    expect(usage.current).toMatchObject(expected);
    expect(usage.limits.maxRecords).toBe(250000);

    // Reads after the last write are still pending in memory; the alarm writes them.
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    const stored = () =>
      runInDurableObject(stub, (_i, state) =>
        Object.fromEntries(
          state.storage.sql
            .exec<{ metric: string; value: number }>("SELECT metric, value FROM usage_counters WHERE period <> 'all'")
            .toArray()
            .map((r) => [r.metric, r.value]),
        ),
      );
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stored()).toMatchObject({ requests: 11, writes: 5, reads: 6, searchQueries: 2 });
    // The owner sees the same through their own view; a viewer may not.
    const own = await call(`/v1/tenants/${t.id}/usage`, { token: t.ownerToken });
    expect(own.status).toBe(200);
  });

  it("flushes read counts once FLUSH_AFTER_COUNTS have gathered, without waiting for the alarm", async () => {
    const t = await tenantWithNotes();
    const stub = env.TENANT_DB.get(env.TENANT_DB.idFromName(t.id));
    const storedReads = () =>
      runInDurableObject(
        stub,
        (_i, state) =>
          state.storage.sql
            .exec<{ value: number }>("SELECT value FROM usage_counters WHERE metric = 'reads' AND period <> 'all'")
            .toArray()[0]?.value ?? 0,
      );
    // Each read counts a request and a read: half the threshold in reads reaches it.
    const reads = FLUSH_AFTER_COUNTS / 2;
    for (let i = 0; i < reads - 1; i++) {
      expect((await call("/v1/collections/notes/records?limit=1", { token: t.ownerToken })).status).toBe(200);
    }
    expect(await storedReads()).toBe(0);
    await call("/v1/collections/notes/records?limit=1", { token: t.ownerToken });
    expect(await storedReads()).toBe(reads);
  });
});

describe("retries", () => {
  it("retries idempotent calls on retryable errors with a fresh stub, never overloaded ones or writes", async () => {
    let made = 0;
    const flaky = (failures: number, error: Record<string, unknown>) => () => {
      made++;
      return {
        async ping() {
          if (failures-- > 0) throw Object.assign(new Error("boom"), error);
          return "pong";
        },
      };
    };
    const ping = (stub: { ping(): Promise<string> }) => stub.ping();
    expect(await withRetries(flaky(2, { retryable: true }), ping, true)).toBe("pong");
    expect(made).toBe(3);
    await expect(withRetries(flaky(1, { retryable: true }), ping, false)).rejects.toThrow("boom");
    await expect(withRetries(flaky(1, { retryable: true, overloaded: true }), ping, true)).rejects.toThrow("boom");
    await expect(withRetries(flaky(5, { retryable: true }), ping, true)).rejects.toThrow("boom");
  });
});
