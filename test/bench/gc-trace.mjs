// V8's own account of its garbage collections in the runtime: the bench starts workerd with
// `--trace-gc` and line-buffered stdout (coreutils' libstdbuf, so each line arrives when the
// collection ends instead of in 4 KiB blocks), and keeps every line with the wall time it arrived.
// A scenario then asks which collections fell inside its measured window: how many scavenges
// (young generation) and mark-compacts (whole heap), and how long the isolate's thread was paused
// by them. That is what the fixed-rate tails are compared with (BENCHMARKS.md).
import { appendFileSync, existsSync } from "node:fs";

const STDBUF = "/usr/libexec/coreutils/libstdbuf.so";

/** Whether this machine can trace: off with BENCH_TRACE_GC=0 or without coreutils' libstdbuf. */
export const gcTraceAvailable = () => process.env.BENCH_TRACE_GC !== "0" && existsSync(STDBUF);

/** The environment a runtime is started under to trace (Miniflare reads it when it spawns workerd). */
export function gcTraceEnv() {
  return { MINIFLARE_WORKERD_V8_FLAGS: "--trace-gc", LD_PRELOAD: STDBUF, _STDBUF_O: "L" };
}

// "[pid:0xisolate] 1234 ms: Scavenge 15.2 (19.3) -> 12.5 (19.6) MB, pooled: 0.0 MB, 2.19 / 0.00 ms ..."
// and for a mark-compact also "(+ 12.3 ms in 40 steps since start of marking, ...)".
const LINE =
  /\[(\d+):(0x[0-9a-f]+)[^\]]*\]\s+(\d+) ms: (Scavenge|Minor Mark-Sweep|Mark-Compact(?: \(reduce\))?)[^\n]*?, ([\d.]+) \/ ([\d.]+) ms(?: \(\+ ([\d.]+) ms in \d+ steps)?/g;

/** Collects a runtime's trace lines; `window(from, to)` summarises the collections between two wall times (ms). */
export function gcLog() {
  const events = [];
  // Per isolate, the smallest (arrival − isolate time): the line that reached us soonest after
  // its collection ended, so wall time ≈ isolate time + that offset.
  const offsets = new Map();
  let pending = "";
  return {
    /** Takes a chunk of the runtime's stdout; returns its lines that are not GC traces (the Worker's own output). */
    onOutput(chunk) {
      const arrived = performance.timeOrigin + performance.now();
      pending += chunk;
      const cut = pending.lastIndexOf("\n");
      if (cut < 0) return "";
      const text = pending.slice(0, cut + 1);
      pending = pending.slice(cut + 1);
      // BENCH_GC_LOG=<file>: every trace line with the wall time it arrived, for a closer look.
      if (process.env.BENCH_GC_LOG)
        appendFileSync(process.env.BENCH_GC_LOG, text.replace(/^/gm, `${arrived.toFixed(0)} `));
      const rest = text
        .split("\n")
        .filter((l) => l && !/^\[\d+:0x[0-9a-f]+[^\]]*\]\s+\d+ ms: /.test(l))
        .map((l) => `${l}\n`)
        .join("");
      for (const m of text.matchAll(LINE)) {
        const [, pid, address, t, kind, pause, , marking] = m;
        const isolate = `${pid}:${address}`;
        const at = Number(t);
        const offset = arrived - at;
        if (!offsets.has(isolate) || offset < offsets.get(isolate)) offsets.set(isolate, offset);
        events.push({
          isolate,
          at,
          kind: kind.startsWith("Mark-Compact") ? "mark-compact" : "scavenge",
          pauseMs: Number(pause),
          markingMs: marking ? Number(marking) : 0,
        });
      }
      return rest;
    },
    /** The collections that ended between `from` and `to` (wall ms), over every isolate of the runtime. */
    window(from, to) {
      const inside = events.filter((e) => {
        const wall = e.at + offsets.get(e.isolate);
        return wall >= from && wall <= to;
      });
      const of = (kind) => inside.filter((e) => e.kind === kind);
      const sum = (xs, f) => xs.reduce((a, e) => a + f(e), 0);
      const max = (xs) => (xs.length ? Math.max(...xs.map((e) => e.pauseMs)) : 0);
      const scavenges = of("scavenge");
      const marks = of("mark-compact");
      return {
        seconds: (to - from) / 1000,
        scavenges: scavenges.length,
        scavengeMaxMs: max(scavenges),
        markCompacts: marks.length,
        markCompactMaxMs: max(marks),
        // Incremental marking steps run on the isolate's thread too, between requests.
        markingMs: sum(marks, (e) => e.markingMs),
        pauseMs: sum(inside, (e) => e.pauseMs),
      };
    },
  };
}
