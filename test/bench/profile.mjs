// CPU profiles of the Worker's isolate through workerd's inspector (Chrome DevTools Protocol):
// used by `npm run bench -- --profile <scenario>` to find where a request's time goes.
import { writeFileSync } from "node:fs";

/** A DevTools Protocol session with one of the runtime's isolates: send(method, params) → result. */
async function connect(target) {
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id && pending.has(msg.id)) pending.get(msg.id)(msg.result);
  };
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  send.socket = ws;
  return { title: target.title, send, close: () => ws.close() };
}

/** The inspector targets of the Worker itself (not Miniflare's helper workers). */
async function workerTargets(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  return targets.filter((x) => x.id.startsWith("core:user:"));
}

export async function startProfile(inspectorPort) {
  const sessions = [];
  for (const target of await workerTargets(inspectorPort)) {
    const session = await connect(target);
    const { send } = session;
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 200 });
    await send("Profiler.start");
    // BENCH_ALLOC=1: V8's sampling heap profiler too (where the garbage is allocated);
    // BENCH_ALLOC=survivors: only what outlived the young generation (what fills the old one).
    if (process.env.BENCH_ALLOC) {
      await send("HeapProfiler.enable");
      await send("HeapProfiler.startSampling", {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: process.env.BENCH_ALLOC !== "survivors",
      });
    }
    sessions.push(session);
  }
  return async function stop(file) {
    const lines = [];
    const profiles = [];
    for (const s of sessions) {
      const { profile } = await s.send("Profiler.stop");
      if (process.env.BENCH_ALLOC) {
        const { profile: heap } = await s.send("HeapProfiler.stopSampling");
        writeFileSync(`${file}-${sessions.indexOf(s)}.heapprofile`, JSON.stringify(heap));
        lines.push(`# ${s.title}: allocated (sampled, self)`, ...allocations(heap));
      }
      s.close();
      profiles.push(profile);
      writeFileSync(`${file}-${sessions.indexOf(s)}.cpuprofile`, JSON.stringify(profile));
      const st = stalls(profile);
      lines.push(
        `# ${s.title}: self time`,
        ...summarize(profile),
        `# ${s.title}: total time`,
        ...inclusive(profile),
        `# ${s.title}: longest gap between samples ${st.longestGapMs.toFixed(1)} ms (in ${st.gapIn}), longest garbage collection ${st.longestGcMs.toFixed(1)} ms`,
      );
    }
    return { text: lines.join("\n"), profiles, stalls: profiles.map(stalls) };
  };
}

/** How a profile node's function is named in the summaries: name, file and line. */
const frameKey = (f) => `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;

/** Bytes allocated by function (sampled, self), top `top`, as percentages of all sampled bytes. */
function allocations(heap, top = 30) {
  const self = new Map();
  let total = 0;
  const walk = (n) => {
    total += n.selfSize;
    const key = frameKey(n.callFrame);
    self.set(key, (self.get(key) ?? 0) + n.selfSize);
    for (const c of n.children ?? []) walk(c);
  };
  walk(heap.head);
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, n]) => `${((n / total) * 100).toFixed(1).padStart(5)}%  ${(n / 1024).toFixed(0).padStart(8)} KiB  ${k}`);
}

/** Self time by function, top 30, as percentages of all samples. */
function summarize(profile, top = 30) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const self = new Map();
  for (const [id, n] of counts) {
    const key = frameKey(byId.get(id).callFrame);
    self.set(key, (self.get(key) ?? 0) + n);
  }
  const total = profile.samples.length;
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, n]) => `${((n / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

/** Total (self + callees) time by function, top `top`, as percentages of the busy samples. */
export function inclusive(profile, top = 40) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = new Map();
  let busy = 0;
  for (const id of profile.samples) {
    if (byId.get(id).callFrame.functionName === "(idle)") continue;
    busy++;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) seen.add(frameKey(byId.get(at).callFrame));
    for (const k of seen) total.set(k, (total.get(k) ?? 0) + 1);
  }
  return [...total]
    .filter(([k]) => !k.startsWith("(root)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, n]) => `${((n / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

/** The Worker isolate's JavaScript heap after a full garbage collection, in MiB. */
export async function heapAfterGc(inspectorPort, base, snapshot = null) {
  const [target] = await workerTargets(inspectorPort);
  const { send, close } = await connect(target);
  await send("HeapProfiler.enable");
  // workerd answers the collection once the isolate handles its next event: send it one.
  const collected = send("HeapProfiler.collectGarbage");
  await fetch(`${base}/healthz`);
  await collected;
  const usage = await send("Runtime.getHeapUsage");
  if (snapshot) await writeSnapshot(send, snapshot);
  close();
  return usage.usedSize / 1024 / 1024;
}

/** A heap snapshot (Chrome DevTools' Memory tab reads it), written as its chunks arrive. */
async function writeSnapshot(send, file) {
  const chunks = [];
  const ws = send.socket;
  const listener = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(msg.params.chunk);
  };
  ws.addEventListener("message", listener);
  await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  ws.removeEventListener("message", listener);
  writeFileSync(file, chunks.join(""));
}

// The layers of a read, each named by the functions that do its work (the bundle is one file, so
// by function name). A busy sample counts for the innermost frame that names a layer: SQL run by
// the gate's member lookup counts as SQL. A coarse attribution, not an exact one.
const LAYERS = [
  ["SQL", /^(exec|toArray|one|raw|next|get|all|run|values)$|sqlStorage|SqlStorage/],
  ["JSON", /^(json|parse|stringify|canonicalJson|JSON\.)/],
  ["ACL / masking", /mask|recordAccess|canRead|readable|clearance|redact|shareOf|sharesOf|visibleFields/i],
  ["record read (object)", /getRecord|readRow|viewOf|decrypt|fromRow|rowView|recordView|collectionDef|defOf/],
  [
    "gate (object)",
    /^(admit|authorize|memberRoles|keyPrincipal|statusFailure|permissionsOf|customRole|take|count|current|flush|scheduleFlush|cachedPrincipal)$|Gate|TokenBucket|UsageMeter/,
  ],
  ["stub call (RPC)", /tenantClient|platformClient|^call$|unwrap|idFromName|stub|retry|Proxy/i],
  ["auth (JWT)", /authenticate|jwtVerify|compactVerify|flattenedVerify|verify|decodeJwt|principalOf|bearer/i],
  [
    "router / middleware",
    /^(match|dispatch|compose|fetch|requestId|requestLog|bodyLimit|getPath|getPathNoStrict|splitPath|handler)$|Hono|Router|validator|zValidator/,
  ],
];

/**
 * µs per request by layer: each layer's share of the isolate's busy samples × the runtime's CPU
 * per request. Native work a JavaScript frame waits on (SQLite under `exec`, the RPC hop under the
 * stub call) is sampled under that frame, so it counts for the layer that called it; workerd's
 * threads outside the isolate (sockets, I/O) are spread over the layers in proportion.
 */
export function layerBudget(profiles, _requests, cpuUsPerRequest) {
  const counts = new Map();
  let busy = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    for (const id of profile.samples) {
      const name = byId.get(id).callFrame.functionName;
      if (name === "(idle)") continue;
      busy++;
      let layer =
        name === "(garbage collector)" ? "GC" : name === "(program)" ? "runtime (no JS frame)" : "other JavaScript";
      if (layer === "other JavaScript") {
        outer: for (let at = id; at !== undefined; at = parent.get(at)) {
          const fn = byId.get(at).callFrame.functionName;
          for (const [l, re] of LAYERS) {
            if (re.test(fn)) {
              layer = l;
              break outer;
            }
          }
        }
      }
      counts.set(layer, (counts.get(layer) ?? 0) + 1);
    }
  }
  const out = {};
  for (const [l] of [...LAYERS, ["GC"], ["runtime (no JS frame)"], ["other JavaScript"]]) {
    if (counts.has(l)) out[l] = ((counts.get(l) ?? 0) / Math.max(1, busy)) * cpuUsPerRequest;
  }
  out.total = cpuUsPerRequest;
  return out;
}

/**
 * Where the isolate's thread stopped: the longest gap between two samples (the sampler runs every
 * 200 µs while the thread runs; a gap of hundreds of ms is the thread off the CPU, descheduled by
 * the OS, whatever function it was in) and the longest run of garbage-collection samples.
 */
export function stalls(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let longestGapMs = 0;
  let gapIn = "";
  let longestGcMs = 0;
  let gc = 0;
  profile.samples.forEach((id, i) => {
    const name = byId.get(id).callFrame.functionName || "(anonymous)";
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    // A gap that ends in an idle sample is the thread waiting for work, not a stall.
    if (name !== "(idle)" && dt > longestGapMs) {
      longestGapMs = dt;
      gapIn = name;
    }
    gc = name === "(garbage collector)" ? gc + dt : 0;
    longestGcMs = Math.max(longestGcMs, gc);
  });
  return { longestGapMs, gapIn, longestGcMs };
}
