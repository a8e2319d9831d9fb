#!/usr/bin/env node
// npm run test:browser: end-to-end tests against the real Worker under `wrangler dev` (local D1,
// R2 and Durable Objects): the operator CLI, then the admin portal in headless Chromium (Debian's
// package, driven by playwright-core; never a browser download). Writes test-results/e2e.json
// ({ passed, failed, tests }) and the tenant page's screenshot to test-results/portal-tenant.png;
// `--update-screenshot` also copies it to test/browser/screenshots/portal.png for the README.
import { mkdirSync } from "node:fs";
import { cliTests } from "./cli.e2e.mjs";
import { portalTests } from "./portal.e2e.mjs";
import { startSilo } from "./server.mjs";

mkdirSync("test-results", { recursive: true });
const results = [];
const only = process.argv.includes("--cli-only") ? ["cli"] : ["cli", "portal"];

async function runSuite(name, tests, ctx) {
  for (const [title, fn] of tests) {
    const started = Date.now();
    try {
      await fn(ctx);
      results.push({ suite: name, title, ok: true, ms: Date.now() - started });
      console.log(`  ✓ ${name} › ${title} (${Date.now() - started} ms)`);
    } catch (err) {
      results.push({ suite: name, title, ok: false, ms: Date.now() - started, error: String(err?.stack ?? err) });
      console.log(`  ✗ ${name} › ${title}\n    ${String(err?.message ?? err).replace(/\n/g, "\n    ")}`);
    }
  }
}

let silo;
try {
  console.log("Starting the Worker (wrangler dev, local bindings)…");
  silo = await startSilo({ logFile: "test-results/e2e-server.log" });
  console.log(`Worker up at ${silo.base}`);
  if (only.includes("cli")) await runSuite("cli", cliTests, silo);
  if (only.includes("portal")) {
    const { withBrowser } = await import("./portal.e2e.mjs");
    await withBrowser(silo, (ctx) => runSuite("portal", portalTests, ctx));
  }
} catch (err) {
  results.push({
    suite: "setup",
    title: "start the Worker and the browser",
    ok: false,
    error: String(err?.stack ?? err),
  });
  console.log(`  ✗ setup\n    ${err?.message ?? err}`);
} finally {
  silo?.stop();
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
const { writeFileSync } = await import("node:fs");
writeFileSync("test-results/e2e.json", JSON.stringify({ passed, failed, tests: results }, null, 2));
console.log(`\ne2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
