// The admin portal in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): sign-in, the wizard, the list, tier change, suspend/resume, usage chart and
// audit events, export and download, CSRF and cookie flags, sign-out.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts Chromium with a fresh profile, runs the tests with one page, and always closes it. */
export async function withBrowser(silo, run) {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const id = `web-${Date.now().toString(36)}`;
    await run({ ...silo, browser, context, page, id, url: (path) => `${silo.base}${path}` });
  } finally {
    await browser.close();
  }
}

const text = (page, selector) => page.locator(selector).innerText();

/** The cell next to a row header in the tenant page's state table. */
const stateOf = (page, label) => page.locator(`section[aria-labelledby="state"] tr:has(th:text-is("${label}")) td`);

export const portalTests = [
  [
    "the sign-in form is labelled and refuses a token that is not a platform admin's",
    async ({ page, url, token }) => {
      await page.goto(url("/admin"));
      assert.equal(await page.getByLabel("Platform-admin token").count(), 1);
      await page.getByLabel("Platform-admin token").fill(await token({ sub: "mallory", tenant: "nobody-here" }));
      await page.getByRole("button", { name: "Sign in" }).click();
      assert.match(await text(page, "[role=alert]"), /refused/i);
      assert.equal((await page.context().cookies()).length, 0);
    },
  ],
  [
    "signing in sets a HttpOnly, Secure, SameSite=Strict session cookie scripts cannot read",
    async ({ page, url, adminToken, context }) => {
      await page.goto(url("/admin"));
      await page.getByLabel("Platform-admin token").fill(adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/admin\/fleet$/);
      assert.ok(await page.getByRole("heading", { name: "Tenants needing care" }).isVisible());
      const [cookie] = (await context.cookies()).filter((c) => c.name === "silo_session");
      assert.ok(cookie, "no session cookie");
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.secure, true);
      assert.equal(cookie.sameSite, "Strict");
      assert.equal(cookie.path, "/admin");
      const lifetime = cookie.expires - Date.now() / 1000;
      assert.ok(lifetime > 3000 && lifetime <= 3600, `cookie lifetime ${lifetime}`);
      assert.equal(await page.evaluate(() => document.cookie), "");
    },
  ],
  [
    "the wizard validates the id as it is typed and creates the tenant",
    async ({ page, url, id }) => {
      await page.goto(url("/admin/tenants/new"));
      const idField = page.getByLabel("Id", { exact: true });
      await idField.fill("Bad_Id");
      assert.equal(await idField.evaluate((el) => el.validity.patternMismatch), true);
      await page.getByRole("button", { name: "Create tenant" }).click();
      assert.match(page.url(), /\/admin\/tenants\/new$/, "the browser must not submit an invalid id");
      await idField.fill(id);
      assert.equal(await idField.evaluate((el) => el.validity.valid), true);
      await page.getByLabel("Name").fill("Web Shop");
      await page.getByLabel("Tier", { exact: true }).selectOption("basic");
      await page.getByLabel("Owner (user id, the token's sub)").fill("carol");
      await page.getByRole("button", { name: "Create tenant" }).click();
      await page.waitForURL(new RegExp(`/admin/tenants/${id}\\?flash=created$`));
      assert.equal(await stateOf(page, "Status").innerText(), "active");
      assert.equal(await stateOf(page, "Owner").innerText(), "carol");
    },
  ],
  [
    "the wizard shows the API's refusal as a form error and keeps what was typed",
    async ({ page, url, id }) => {
      await page.goto(url("/admin/tenants/new"));
      await page.getByLabel("Id", { exact: true }).fill(id);
      await page.getByLabel("Name").fill("Web Shop again");
      await page.getByLabel("Owner (user id, the token's sub)").fill("carol");
      await page.getByRole("button", { name: "Create tenant" }).click();
      assert.match(await text(page, "[role=alert]"), /is taken/);
      assert.equal(await page.getByLabel("Name").inputValue(), "Web Shop again");
    },
  ],
  [
    "the wizard starts a trial with a feature beyond the plan",
    async ({ page, url, id }) => {
      // Not containing the shared id: the list test below searches for that one alone.
      const trialId = id.replace(/^web-/, "trial-");
      await page.goto(url("/admin/tenants/new"));
      await page.getByLabel("Id", { exact: true }).fill(trialId);
      await page.getByLabel("Name").fill("Trial Shop");
      await page.getByLabel("Owner (user id, the token's sub)").fill("carol");
      await page.getByLabel("Trial days (optional)").fill("7");
      await page.getByLabel("webhooks").check();
      await page.getByRole("button", { name: "Create tenant" }).click();
      await page.waitForURL(new RegExp(`/admin/tenants/${trialId}\\?flash=created$`));
      assert.match(await stateOf(page, "Status").innerText(), /^trial \(trial ends /);
      assert.match(await stateOf(page, "Features").innerText(), /webhooks/);
    },
  ],
  [
    "the list finds the tenant by search and filters by status and tier",
    async ({ page, url, id }) => {
      await page.goto(url("/admin/tenants"));
      await page.getByLabel("Search id, name or external id").fill(id);
      await page.getByRole("button", { name: "Filter" }).click();
      const row = page.locator("tbody tr", { hasText: id });
      assert.equal(await row.count(), 1);
      assert.match(await row.innerText(), /Web Shop\s+active\s+basic/);
      await page.getByLabel("Status").selectOption("suspended");
      await page.getByRole("button", { name: "Filter" }).click();
      assert.equal(await page.locator("tbody tr", { hasText: id }).count(), 0);
      await page.getByLabel("Status").selectOption("active");
      await page.getByLabel("Tier").selectOption("basic");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.getByRole("link", { name: id }).click();
      await page.waitForURL(new RegExp(`/admin/tenants/${id}$`));
    },
  ],
  [
    "changing the tier applies the new plan's limits",
    async ({ page, url, id, adminToken }) => {
      await page.goto(url(`/admin/tenants/${id}`));
      await page.locator("#tier").selectOption("pro");
      await page.getByRole("button", { name: "Save" }).click();
      await page.waitForURL(/flash=updated/);
      assert.equal(await stateOf(page, "Tier").innerText(), "pro");
      const api = await (
        await fetch(url(`/v1/tenants/${id}`), { headers: { authorization: `Bearer ${adminToken}` } })
      ).json();
      assert.equal(api.tier, "pro");
      const plans = await (
        await fetch(url("/v1/plans"), { headers: { authorization: `Bearer ${adminToken}` } })
      ).json();
      const pro = plans.items.find((p) => p.tier === "pro");
      assert.equal(api.limits.maxRecords, pro.limits.maxRecords);
    },
  ],
  [
    "suspend and resume need a confirmation and change what the tenant's users get",
    async ({ page, url, id, token }) => {
      const carol = await token({ sub: "carol", tenant: id });
      const me = () => fetch(url("/v1/me"), { headers: { authorization: `Bearer ${carol}` } });
      await page.goto(url(`/admin/tenants/${id}`));
      const suspend = page.locator("fieldset", { hasText: "Suspend" });
      await suspend.getByRole("button", { name: "Suspend" }).click();
      assert.equal(await stateOf(page, "Status").innerText(), "active", "no confirmation, no suspension");
      await suspend.getByRole("checkbox").check();
      await suspend.getByRole("button", { name: "Suspend" }).click();
      await page.waitForURL(/flash=suspend/);
      assert.equal(await stateOf(page, "Status").innerText(), "suspended");
      assert.equal((await me()).status, 403);
      const resume = page.locator("fieldset", { hasText: "Resume" });
      await resume.getByRole("checkbox").check();
      await resume.getByRole("button", { name: "Resume" }).click();
      await page.waitForURL(/flash=resume/);
      assert.equal(await stateOf(page, "Status").innerText(), "active");
      assert.equal((await me()).status, 200);
    },
  ],
  [
    "the tenant page shows usage as a chart and the verified audit trail",
    async ({ page, url, id, token }) => {
      const carol = await token({ sub: "carol", tenant: id });
      const api = (path, body) =>
        fetch(url(path), {
          method: "POST",
          headers: { authorization: `Bearer ${carol}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      assert.equal(
        (await api("/v1/collections", { name: "orders", fields: [{ name: "sku", type: "string" }] })).status,
        201,
      );
      for (const sku of ["a-1", "b-2", "c-3"])
        assert.equal((await api("/v1/collections/orders/records", { sku })).status, 201);
      await page.goto(url(`/admin/tenants/${id}`));
      const chart = page.locator('section[aria-labelledby="usage"] svg[role=img]');
      assert.equal(await chart.count(), 1);
      assert.match(await chart.getAttribute("aria-label"), /Requests per period: (.*, )?\d{4}-\d{2}: [1-9][\d,]*$/);
      assert.ok((await chart.locator("rect").count()) >= 1);
      // Usage against each limit: a meter with the raw values and the same reading in words.
      const records = page.getByRole("meter", { name: "Records" });
      assert.equal(await records.getAttribute("aria-valuenow"), "3");
      assert.equal(await records.getAttribute("aria-valuemax"), "250000");
      assert.equal(await records.getAttribute("aria-valuetext"), "3 of 250,000 (<0.01%)");
      assert.match(await text(page, 'table.limits tr:has(th:text-is("Records"))'), /3 of 250,000 \(<0\.01%\)/);
      assert.match(await text(page, 'table.limits tr:has(th:text-is("Collections"))'), /1 of 100 \(1%\)/);
      const storage = page.locator('section[aria-labelledby="plan"] tr:has(th:text-is("Storage")) td');
      assert.equal(await storage.innerText(), "50 GiB");
      assert.match(await text(page, 'section[aria-labelledby="audit"]'), /Chain verified: \d+ events intact\./);
      const actions = await page.locator('section[aria-labelledby="audit"] tbody td:nth-child(4)').allInnerTexts();
      assert.ok(actions.filter((a) => a === "record.create").length >= 3, actions.join(", "));
      assert.ok(actions.includes("collection.create"), actions.join(", "));
      mkdirSync("test-results", { recursive: true });
      await page.screenshot({ path: "test-results/portal-tenant.png", fullPage: true });
      if (process.argv.includes("--update-screenshot")) {
        mkdirSync("test/browser/screenshots", { recursive: true });
        copyFileSync("test-results/portal-tenant.png", "test/browser/screenshots/portal.png");
      }
    },
  ],
  [
    "an export started from the tenant page completes and its parts download",
    async ({ page, url, id }) => {
      await page.goto(url(`/admin/tenants/${id}`));
      await page.getByRole("button", { name: "Start an export" }).click();
      await page.getByRole("link", { name: "Check it and download" }).click();
      for (let i = 0; i < 60 && !(await page.getByText("Status: completed").count()); i++) {
        await page.waitForTimeout(500);
        await page.reload();
      }
      assert.equal(await page.getByText("Status: completed").count(), 1);
      const [manifestDownload] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "Download manifest.json" }).click(),
      ]);
      assert.equal(manifestDownload.suggestedFilename(), `${id}-manifest.json`);
      const manifest = JSON.parse(readFileSync(await manifestDownload.path(), "utf8"));
      assert.equal(manifest.tenant, id);
      assert.equal(manifest.collections.find((c) => c.name === "orders").records, 3);
      const partLinks = page.locator("tbody a", { hasText: "records/orders/" });
      assert.ok((await partLinks.count()) >= 2, "three records come in parts of two rows");
      const [partDownload] = await Promise.all([page.waitForEvent("download"), partLinks.first().click()]);
      const rows = readFileSync(await partDownload.path(), "utf8")
        .trim()
        .split("\n");
      assert.equal(rows.length, 2);
    },
  ],
  [
    "forms without the session's CSRF token are refused and change nothing",
    async ({ page, url, id }) => {
      await page.goto(url(`/admin/tenants/${id}`));
      const status = await page.evaluate(async (tenant) => {
        const res = await fetch(`/admin/tenants/${tenant}/action`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ action: "suspend", confirm: "yes", _csrf: "forged" }),
        });
        return res.status;
      }, id);
      assert.equal(status, 403);
      await page.reload();
      assert.equal(await stateOf(page, "Status").innerText(), "active");
    },
  ],
  [
    "a form posted from another site arrives without the session (SameSite=Strict) and does nothing",
    async ({ page, url, id }) => {
      // 127.0.0.1 is a different site from localhost, so the browser withholds the cookie.
      const target = url(`/admin/tenants/${id}/action`);
      const csrf = await page
        .goto(url("/admin/tenants"))
        .then(() => page.locator("input[name=_csrf]").first().inputValue());
      const evil = createServer((_, res) => {
        res.setHeader("content-type", "text/html");
        res.end(
          `<form method="post" action="${target}"><input name="action" value="suspend"><input name="confirm" value="yes"><input name="_csrf" value="${csrf}"><button>go</button></form>`,
        );
      });
      await new Promise((r) => evil.listen(0, "127.0.0.1", r));
      try {
        await page.goto(`http://127.0.0.1:${evil.address().port}/`);
        await page.getByRole("button", { name: "go" }).click();
        await page.waitForLoadState();
        assert.match(page.url(), /\/admin$/, "the cross-site post must land on the sign-in page");
      } finally {
        evil.close();
      }
      await page.goto(url(`/admin/tenants/${id}`));
      assert.equal(await stateOf(page, "Status").innerText(), "active");
    },
  ],
  [
    "signing out clears the cookie and the pages ask for sign-in again",
    async ({ page, url, context }) => {
      await page.goto(url("/admin/tenants"));
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForURL(/\/admin$/);
      assert.equal((await context.cookies()).filter((c) => c.name === "silo_session").length, 0);
      await page.goto(url("/admin/tenants"));
      assert.match(page.url(), /\/admin$/);
      assert.equal(await page.getByLabel("Platform-admin token").count(), 1);
    },
  ],
];
