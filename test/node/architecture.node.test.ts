// The house rules that keep the Worker ⇄ object seam typed and the direction of dependencies one
// way (see README, "Map of the house"): the object never imports the Worker, the Worker imports
// only the object's contract and storage handle (and the class, for wrangler's export), nothing
// casts an RPC answer, and no source file grows past one idea.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "drizzle" ? [] : sources(path);
    return /\.(ts|mjs)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const imports = (file: string) =>
  [...readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1] as string);

const WORKER_MAY_IMPORT = /durable-objects\/(contract|storage)\/|durable-objects\/tenant-database$/;

describe("the house", () => {
  it("durable-objects/ never imports src/", () => {
    const back = sources("durable-objects").flatMap((f) =>
      imports(f)
        .filter((spec) => /(^|\/)src\//.test(spec))
        .map((spec) => `${f} → ${spec}`),
    );
    expect(back).toEqual([]);
  });

  it("src/ reaches the object only through its contract and storage handle", () => {
    const reached = sources("src").flatMap((f) =>
      imports(f)
        .filter((spec) => spec.includes("durable-objects/") && !WORKER_MAY_IMPORT.test(spec))
        .map((spec) => `${f} → ${spec}`),
    );
    expect(reached).toEqual([]);
  });

  it("no RPC answer is cast, and nothing is cast through unknown", () => {
    const casts = [...sources("src"), ...sources("durable-objects")].flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
        .filter(({ line }) => /unwrap\([^;]*\)\s*as\s|\.call\([^;]*\)\)\s*as\s|as unknown as/.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(casts).toEqual([]);
  });

  it("no source file is over 400 lines, and the object class under 300", () => {
    const long = [...sources("src"), ...sources("durable-objects")]
      .map((f) => ({ f, lines: readFileSync(f, "utf8").split("\n").length }))
      .filter(({ f, lines }) => lines > (f.endsWith("tenant-database.ts") ? 300 : 400))
      .map(({ f, lines }) => `${f} (${lines})`);
    expect(long).toEqual([]);
  });
});
