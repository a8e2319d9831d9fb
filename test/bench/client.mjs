// A Node HTTP client for the scenarios wrk cannot run: cold reads (each request once, a fixed
// number in flight) and fixed-rate tails (an open-loop schedule: request i is due at t0 + i/rate
// and its latency counts from that intended send time, so a stalled server or client is charged
// for every request it delayed, not only for the ones it answered late: no coordinated omission).
// Targets are wrk's lines, "METHOD PATH TOKEN [BODY]" ("-" = no token; "TOKEN+idem" adds a fresh
// Idempotency-Key to every request).
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";

export function parseTarget(line) {
  const m = /^(\S+) (\S+) (\S+) ?(.*)$/.exec(line);
  if (!m) throw new Error(`bad target line: ${line}`);
  const [, method, path, rawToken, body] = m;
  const idem = rawToken.endsWith("+idem");
  const token = idem ? rawToken.slice(0, -5) : rawToken;
  const headers = {};
  if (token !== "-") headers.authorization = `Bearer ${token}`;
  if (body) headers["content-type"] = "application/json";
  return { method, path, headers, body: body || undefined, idem };
}

const prefix = randomBytes(4).toString("hex");
let sent = 0;

/** One request; resolves with its status (0 on a socket error) and the time it ended (ms). */
function send(agent, url, t) {
  return new Promise((resolve) => {
    const headers = t.idem ? { ...t.headers, "idempotency-key": `bench-${prefix}-${++sent}` } : t.headers;
    const req = request(
      { host: url.hostname, port: url.port, path: t.path, method: t.method, headers, agent },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve({ status: res.statusCode, end: performance.now() }));
        res.on("error", () => resolve({ status: 0, end: performance.now() }));
      },
    );
    req.on("error", () => resolve({ status: 0, end: performance.now() }));
    req.end(t.body);
  });
}

export const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : Number.NaN;

function summary(latencies, statuses, seconds) {
  const sorted = Float64Array.from(latencies).sort();
  const errors = statuses.filter((s) => s < 200 || s >= 300).length;
  const errorKinds = {};
  for (const s of statuses) if (s < 200 || s >= 300) errorKinds[s || "socket"] = (errorKinds[s || "socket"] ?? 0) + 1;
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted.at(-1) ?? Number.NaN,
    errors,
    errorKinds,
  };
}

/** Sends every target once, `concurrency` in flight; latency from each request's own start. */
export async function onePass(base, lines, concurrency) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const targets = lines.map(parseTarget);
  const latencies = [];
  const statuses = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, targets.length) }, async () => {
      while (next < targets.length) {
        const t = targets[next++];
        const start = performance.now();
        const { status, end } = await send(agent, url, t);
        latencies.push(end - start);
        statuses.push(status);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return summary(latencies, statuses, seconds);
}

/**
 * Offers `rate` requests/s for `seconds` (after `warmupSeconds` not counted), round-robin over
 * the targets, on a schedule: every
 * millisecond the client sends whatever has fallen due. Latency counts from the intended send
 * time. `lagMs` is how late the client itself was at worst (its own event loop's stalls).
 */
export async function fixedRate(base, lines, rate, seconds, connections = 64, warmupSeconds = 1) {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const targets = lines.map(parseTarget);
  // The first `warmupSeconds` of the schedule open the connections and are not counted.
  const skip = Math.round(rate * warmupSeconds);
  const total = skip + Math.max(1, Math.round(rate * seconds));
  const latencies = [];
  const statuses = [];
  const inFlight = [];
  let lagMs = 0;
  let open = 0;
  let maxOpen = 0;
  let lastEnd = 0;
  const t0 = performance.now() + 5;
  let i = 0;
  await new Promise((done) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && t0 + (i * 1000) / rate <= now) {
        const due = t0 + (i * 1000) / rate;
        const n = i;
        if (n >= skip) lagMs = Math.max(lagMs, now - due);
        const t = targets[i % targets.length];
        open++;
        maxOpen = Math.max(maxOpen, open);
        inFlight.push(
          send(agent, url, t).then(({ status, end }) => {
            open--;
            lastEnd = Math.max(lastEnd, end);
            if (n < skip) return;
            latencies.push(end - due);
            statuses.push(status);
          }),
        );
        i++;
      }
      if (i < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  const s = summary(latencies, statuses, seconds);
  // sent: every request of the schedule, the uncounted warm-up included (for CPU per request).
  // served: what the server kept up with (counted requests over the time until the last answer);
  // maxOpen: the most requests outstanding at once (a queue forming shows here first).
  const served = latencies.length / ((lastEnd - (t0 + (skip * 1000) / rate)) / 1000);
  // window: the measured part in wall-clock ms (performance.timeOrigin-based), for the GC log.
  const wall = (t) => performance.timeOrigin + t;
  const window = [wall(t0 + (skip * 1000) / rate), wall(lastEnd)];
  return { ...s, rps: served, offered: rate, lagMs, sent: total, maxOpen, window };
}
