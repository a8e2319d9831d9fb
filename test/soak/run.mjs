#!/usr/bin/env node
// npm run soak: a mixed workload over many tenants while the runtime is SIGKILLed and started
// again on the same storage, then a check of every tenant against the acknowledged answers.
//
//   npm run soak -- [--tenants 100] [--seconds 300] [--kills 5] [--seed N]
//
// Prints a table per invariant and, last, "soak: <n> acknowledged, <n> lost, <n> torn, <n> chains
// broken". Exits 1 when any invariant broke.
import { parseArgs } from "node:util";
import { report, soak } from "./soak.mjs";

const { values } = parseArgs({
  options: {
    tenants: { type: "string", default: "100" },
    seconds: { type: "string", default: "300" },
    kills: { type: "string", default: "5" },
    seed: { type: "string" },
  },
});
const result = await soak({
  tenants: Number(values.tenants),
  seconds: Number(values.seconds),
  kills: Number(values.kills),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
});
console.log(`\n${report(result)}`);
console.log(`(whole run ${result.seconds.toFixed(0)} s)`);
process.exit(result.broken === 0 ? 0 : 1);
