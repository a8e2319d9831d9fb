#!/usr/bin/env node
// npm run bench:changes — the change feed's costs on one tenant, reported and never gated:
//   fan-out: one write delivered to 100 and 1,000 live WebSocket subscribers (time from the write's
//            answer until every subscriber has the event; events delivered per second), and
//   pull:    events per second paged through GET /v1/changes (limit 1000).
//
//   npm run bench:changes -- [--subscribers 100,1000] [--writes 20] [--events 5000]
// Same runtime as npm run bench: Miniflare 4's own server, no wrangler dev proxy.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildBundles, startSilo } from "./servers.mjs";
import { tokenSigner } from "./tokens.mjs";

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "100,1000" },
    writes: { type: "string", default: "20" },
    events: { type: "string", default: "5000" },
  },
});
const LEVELS = values.subscribers.split(",").map(Number);
const WRITES = Number(values.writes);
const EVENTS = Number(values.events);

const vars = {
  AUTH_HS256_SECRET: randomBytes(32).toString("base64url"),
  AUTH_ISSUER: "silo-bench",
  AUTH_AUDIENCE: "silo",
  MASTER_KEY: randomBytes(32).toString("base64"),
};
const sign = tokenSigner(vars, "2h");
const persistDir = mkdtempSync(join(tmpdir(), "silo-fanout-"));
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

await buildBundles();
const silo = await startSilo({ vars, persistDir });
try {
  const admin = await sign({ scope: "platform:admin" }, "root");
  const post = async (path, token, body) => {
    const res = await fetch(`${silo.base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  await post("/v1/tenants", admin, {
    id: "fanout",
    name: "Fan-out",
    tier: "enterprise",
    owner: { sub: "ann" },
    limits: { requestsPerSecond: 100000, burst: 100000 },
  });
  const owner = await sign({ tenant_id: "fanout" }, "ann");
  await post("/v1/collections", owner, { name: "notes", fields: [{ name: "title", type: "string" }] });

  const rows = [];
  for (const n of LEVELS) {
    // Browsers' way in: one single-use ticket per socket.
    const sockets = await Promise.all(
      Array.from({ length: n }, async () => {
        const { ticket } = await post("/v1/realtime/tickets", owner, undefined);
        const ws = new WebSocket(`${silo.base.replace(/^http/, "ws")}/v1/realtime?ticket=${ticket}`);
        const seen = new Map();
        await new Promise((resolve, reject) => {
          ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", since: null }));
          ws.onerror = reject;
          ws.onmessage = (m) => {
            const msg = JSON.parse(m.data);
            if (msg.type === "subscribed") resolve();
            if (msg.type === "change") seen.set(msg.id, performance.now());
          };
        });
        return { ws, seen };
      }),
    );
    const latencies = [];
    const started = performance.now();
    for (let i = 0; i < WRITES; i++) {
      const rec = await post("/v1/collections/notes/records", owner, { title: `w${i}` });
      const answered = performance.now();
      while (!sockets.every((s) => s.seen.has(rec.id))) await new Promise((r) => setTimeout(r, 1));
      latencies.push(Math.max(...sockets.map((s) => s.seen.get(rec.id))) - answered);
    }
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      subscribers: n,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      perSecond: (n * WRITES) / seconds,
    });
    for (const s of sockets) s.ws.close();
  }

  for (let made = 0; made < EVENTS; made += 100) {
    const operations = Array.from({ length: Math.min(100, EVENTS - made) }, (_, i) => ({
      op: "create",
      data: { title: `p${made + i}` },
    }));
    await post("/v1/collections/notes/records:batch", owner, { operations });
  }
  let since = "0";
  let read = 0;
  const pullStart = performance.now();
  for (;;) {
    const res = await fetch(`${silo.base}/v1/changes?since=${since}&limit=1000`, {
      headers: { authorization: `Bearer ${owner}` },
    });
    const page = await res.json();
    read += page.items.length;
    if (!page.nextCursor) break;
    since = page.nextCursor;
  }
  const pullPerSecond = read / ((performance.now() - pullStart) / 1000);

  console.log("\nsubscribers  p50 ms (all have it)  p99 ms  events delivered/s");
  for (const r of rows) {
    console.log(
      `${String(r.subscribers).padEnd(13)}${r.p50.toFixed(1).padEnd(21)}${r.p99.toFixed(1).padEnd(8)}${Math.round(r.perSecond)}`,
    );
  }
  console.log(`\npull: ${read} events through GET /v1/changes at ${Math.round(pullPerSecond)} events/s`);
  for (const r of rows) console.log(`fanout_${r.subscribers}_p50_ms=${r.p50.toFixed(1)}`);
  console.log(`changes_pull_per_s=${Math.round(pullPerSecond)}`);
} finally {
  await silo.mf.dispose();
  rmSync(persistDir, { recursive: true, force: true });
}
