// The admin portal at /admin: sign-in with a platform-admin token, then the fleet (alerts and
// schema, the front page) and pages for tenants, plans, billing and sweeps. Server-rendered, no
// client-side JavaScript; every form carries the session's CSRF token; every action goes through
// the API with the admin's own token.
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { html } from "hono/html";
import { decodeJwt } from "jose";
import type { AppEnv } from "../context";
import { type ApiFetch, apiClient } from "./api-client";
import { backupPages } from "./backup-pages";
import { fleetPages } from "./fleet-pages";
import { csrfField, page } from "./layout";
import { opsPages } from "./ops-pages";
import { orgPages } from "./org-pages";
import { COOKIE, cookieHeader, csrfMatches, openSession, type Session, sealSession } from "./session";
import { tenantPages } from "./tenant-pages";

export type PortalEnv = AppEnv & {
  Variables: AppEnv["Variables"] & { session: Session; api: ReturnType<typeof apiClient> };
};

/** Forms post from this origin only (SameSite=Strict cookies plus an Origin check before sign-in). */
function sameOrigin(c: { req: { header(n: string): string | undefined; url: string } }): boolean {
  const origin = c.req.header("origin");
  return !origin || origin === new URL(c.req.url).origin;
}

function signInPage(error?: string) {
  return page(
    "Sign in",
    html`<h1>Sign in</h1>
<form method="post" action="/admin/sign-in">
  <label for="token">Platform-admin token</label>
  <textarea id="token" name="token" rows="5" cols="60" required aria-describedby="token-hint"></textarea>
  <p id="token-hint" class="hint">A JWT with the <code>platform:admin</code> scope (locally: <code>npm run token -- --admin</code>). It is kept only in an HttpOnly session cookie for an hour.</p>
  <button type="submit">Sign in</button>
</form>`,
    { error },
  );
}

export function createPortal(fetchApi: ApiFetch) {
  const portal = new Hono<PortalEnv>();

  portal.get("/admin", (c) => {
    if (openSession(c.env, getCookie(c, COOKIE))) return c.redirect("/admin/fleet", 303);
    return c.html(signInPage());
  });

  portal.post("/admin/sign-in", async (c) => {
    if (!sameOrigin(c)) return c.html(signInPage("Sign-in must come from this site."), 403);
    const form = await c.req.parseBody();
    const token = String(form.token ?? "").trim();
    if (!token) return c.html(signInPage("Paste a token."), 400);
    // The API itself decides whether the token is a platform admin's.
    const probe = await apiClient(fetchApi, c, token)("GET", "/v1/tenants?limit=1");
    if (!probe.ok) return c.html(signInPage(`That token was refused: ${probe.error}`), 401);
    let exp: number | undefined;
    try {
      exp = decodeJwt(token).exp;
    } catch {
      exp = undefined;
    }
    const { value } = sealSession(c.env, token, exp);
    c.header("set-cookie", cookieHeader(value, 3600));
    return c.redirect("/admin/fleet", 303);
  });

  // Everything below needs a session; every POST needs its CSRF token.
  portal.use("/admin/*", async (c, next) => {
    const session = openSession(c.env, getCookie(c, COOKIE));
    if (!session) return c.redirect("/admin", 303);
    if (c.req.method === "POST") {
      const form = await c.req.parseBody();
      if (!sameOrigin(c) || !csrfMatches(session, form._csrf)) {
        return c.html(
          page("Refused", html`<h1>Refused</h1><p>The form was not valid. Go back and try again.</p>`, {
            csrf: session.csrf,
          }),
          403,
        );
      }
    }
    c.set("session", session);
    c.set("api", apiClient(fetchApi, c, session.token));
    await next();
  });

  portal.post("/admin/sign-out", (c) => {
    c.header("set-cookie", cookieHeader("", 0));
    return c.redirect("/admin", 303);
  });

  portal.route("/", tenantPages());
  portal.route("/", orgPages());
  portal.route("/", backupPages());
  portal.route("/", opsPages());
  portal.route("/", fleetPages());
  return portal;
}

export { csrfField };
