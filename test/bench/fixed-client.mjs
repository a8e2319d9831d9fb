// The fixed-rate client in a process of its own (run.mjs spawns it pinned to the load core), so
// the tail it measures is not the bench process's: that one also hosts Miniflare and reads the
// runtimes' GC trace. Arguments: base, the file of target lines, rate, seconds, connections,
// warm-up seconds. Prints one JSON line with the figures (fixedRate's).
import { readFileSync } from "node:fs";
import { fixedRate } from "./client.mjs";

const [base, file, rate, seconds, connections, warmup] = process.argv.slice(2);
const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
const m = await fixedRate(base, lines, Number(rate), Number(seconds), Number(connections), Number(warmup));
process.stdout.write(`FIXEDJSON ${JSON.stringify(m)}\n`);
