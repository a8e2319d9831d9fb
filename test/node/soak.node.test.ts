// The soak's short form (issue 21): 20 tenants for ~30 s of mixed load, the runtime SIGKILLed
// once and started again on the same storage, then every invariant checked. It fails when any
// invariant breaks; no timing is asserted. `npm run soak` is the long form.
import { describe, expect, it } from "vitest";
import { report, soak } from "../soak/soak.mjs";

describe("soak (short form)", () => {
  it("loses, tears and breaks nothing when the runtime is killed under load", { timeout: 600_000 }, async () => {
    const lines: string[] = [];
    const result = await soak({ tenants: 20, seconds: 30, kills: 1, log: (line: string) => lines.push(line) });
    const text = report(result);
    console.log(`${lines.join("\n")}\n${text}`);
    expect(result.kills).toBe(1);
    expect(result.acknowledged).toBeGreaterThan(0);
    const broken = Object.entries(result.rows)
      .filter(([, row]) => row.broken > 0)
      .map(([name, row]) => `${name}: ${row.examples.join("; ")}`);
    expect(broken, text).toEqual([]);
    expect(text.split("\n").at(-1)).toMatch(/ 0 lost, 0 torn, 0 chains broken$/);
  });
});
