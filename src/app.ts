// The Worker's HTTP application: middleware order, route mounting, the one error handler and
// the OpenAPI document.
import { HTTPException } from "hono/http-exception";
import { ApiError, problemResponse } from "./errors";
import { authenticate } from "./middleware/authenticate";
import { bodyLimit } from "./middleware/body-limit";
import { idempotency } from "./middleware/idempotency";
import { jsonDepthLimit } from "./middleware/json-depth";
import { requestId } from "./middleware/request-id";
import { requestLog } from "./middleware/request-log";
import { newRouter, withPostConventions } from "./openapi";
import { createPortal } from "./portal/portal";
import { ContractRouter } from "./router";
import { accessRoutes } from "./routes/access";
import { adminQueryRoutes } from "./routes/admin-query";
import { aggregateRoutes } from "./routes/aggregate";
import { auditRoutes } from "./routes/audit";
import { backupRoutes } from "./routes/backups";
import { billingRoutes } from "./routes/billing";
import { changeRoutes } from "./routes/changes";
import { collectionRoutes } from "./routes/collections";
import { docsRoutes } from "./routes/docs";
import { exportRoutes } from "./routes/exports";
import { fileRoutes } from "./routes/files";
import { fleetRoutes } from "./routes/fleet";
import { healthRoutes } from "./routes/health";
import { keyRotationRoutes } from "./routes/key-rotation";
import { meRoutes } from "./routes/me";
import { orgRoutes } from "./routes/org";
import { privacyRoutes } from "./routes/privacy";
import { realtimeRoutes } from "./routes/realtime";
import { recordRoutes } from "./routes/records";
import { referenceRoutes } from "./routes/reference";
import { searchRoutes } from "./routes/search";
import { settingsRoutes } from "./routes/settings";
import { sweepRoutes } from "./routes/sweeps";
import { tenantRoutes } from "./routes/tenants";
import { usageRoutes } from "./routes/usage";
import { webhookRoutes } from "./routes/webhooks";
import { isOverloaded } from "./tenant-client";

export function createApp() {
  // RegExpRouter, with the contract's `records:batch` colon read as a letter (router.ts).
  const app = newRouter({ router: new ContractRouter() });
  app.use("*", requestId);
  app.use("*", requestLog);
  app.use("/v1/*", bodyLimit());
  app.use("/v1/*", authenticate);
  app.use("/v1/*", jsonDepthLimit());
  app.use("/v1/*", idempotency());

  app.route("/", healthRoutes);
  app.route("/", tenantRoutes);
  app.route("/", meRoutes);
  app.route("/", collectionRoutes);
  app.route("/", recordRoutes);
  app.route("/", aggregateRoutes);
  app.route("/", searchRoutes);
  app.route("/", auditRoutes);
  app.route("/", changeRoutes);
  app.route("/", usageRoutes);
  app.route("/", sweepRoutes);
  app.route("/", fleetRoutes);
  app.route("/", billingRoutes);
  app.route("/", exportRoutes);
  app.route("/", backupRoutes);
  app.route("/", privacyRoutes);
  app.route("/", keyRotationRoutes);
  app.route("/", fileRoutes);
  app.route("/", accessRoutes);
  app.route("/", settingsRoutes);
  app.route("/", realtimeRoutes);
  app.route("/", webhookRoutes);
  app.route("/", adminQueryRoutes);
  app.route("/", orgRoutes);
  app.route("/", referenceRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "A JWT (tenant user or platform admin) or a Silo API key (silo_<tenant>_<secret>).",
  });
  const documentConfig = {
    openapi: "3.1.0",
    info: {
      title: "Silo API",
      version: "1.0.0",
      description: "Database-per-tenant backend: every tenant has its own SQLite database in its own Durable Object.",
    },
  };
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  const loadDocument = () => {
    if (!document) document = withPostConventions(app.getOpenAPI31Document(documentConfig));
    return document;
  };
  app.get("/openapi.json", (c) => c.json(loadDocument()));

  // HTML for people, not part of the API: the reference rendered from the same document, and
  // the admin portal, which acts only through the API above.
  app.route(
    "/",
    docsRoutes(() => loadDocument() as never),
  );
  app.route(
    "/",
    createPortal(async (request, c) => app.fetch(request, c.env, c.executionCtx as ExecutionContext)),
  );

  app.notFound((c) => problemResponse("not_found", "No such route.", c.get("requestId") ?? crypto.randomUUID()));
  app.onError((err, c) => {
    const id = c.get("requestId") ?? crypto.randomUUID();
    if (err instanceof ApiError) return problemResponse(err.code, err.detail, id, err.extras, err.headers);
    if (isOverloaded(err)) {
      // The tenant's object is overloaded: tell the client to back off; never retry here.
      return problemResponse(
        "service_unavailable",
        "This tenant is busy; retry shortly.",
        id,
        {},
        { "Retry-After": "1" },
      );
    }
    if (err instanceof HTTPException && err.status < 500) {
      // Hono's own 4xx (malformed JSON, wrong content type) carry safe messages.
      const code = err.status === 413 ? "payload_too_large" : "validation_failed";
      return problemResponse(code, err.message || "The request is not valid.", id);
    }
    console.error(JSON.stringify({ msg: "unhandled error", requestId: id, error: String(err), stack: err.stack }));
    return problemResponse("internal", "Something went wrong on our side.", id);
  });
  return app;
}
