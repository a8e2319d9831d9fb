// The README's identity-provider configurations are the ones the provider tests run: each
// provider's heading is followed by a block setting exactly these variables to these values.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PROVIDERS } from "../identity-providers";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

/** The KEY=value lines of the first ```sh block after the heading. */
function configAfter(heading: string): Record<string, string> {
  const at = readme.indexOf(`\n#### ${heading}\n`);
  expect(at, `README heading "#### ${heading}"`).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block, `a sh block after "${heading}"`).not.toBeNull();
  const lines = (block?.[1] ?? "").split("\n").filter((l) => l.trim() !== "");
  return Object.fromEntries(
    lines.map((line) => {
      const eq = line.indexOf("=");
      return [line.slice(0, eq), line.slice(eq + 1)];
    }),
  );
}

describe("README identity provider configurations", () => {
  for (const [name, setup] of Object.entries(PROVIDERS)) {
    it(`shows exactly the tested configuration for ${name}`, () => {
      expect(configAfter(setup.title)).toEqual(setup.vars);
    });
  }
});
