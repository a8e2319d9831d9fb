// Webhooks (DESIGN §10): endpoints that receive the tenant's change events, signed, retried from
// the object's outbox for 24 h. Registering one takes settings:manage; what it receives is what
// its registrant may read.
import { createRoute, z } from "@hono/zod-openapi";
import {
  DeliverySchema as DeliveryView,
  WebhookInputSchema,
  WebhookSchema as WebhookView,
} from "../../durable-objects/contract/changes";
import { bearerSecurity, commonErrors, conflictError, jsonBody, jsonResponse, listOf, newRouter } from "../openapi";
import { tenantClient } from "../tenant-client";

const WebhookSchema = WebhookView.openapi("Webhook");
const DeliverySchema = DeliveryView.openapi("WebhookDelivery");
const Id = z.object({ id: z.string().max(64) });

export const webhookRoutes = newRouter()
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/webhooks",
      tags: ["Changes"],
      summary: "Register a webhook; its signing secret is shown only in this answer",
      security: bearerSecurity,
      request: {
        body: jsonBody(
          WebhookInputSchema.openapi("CreateWebhook", {
            example: { url: "https://example.com/hooks/silo", events: ["record.created"], collections: ["notes"] },
          }),
        ),
      },
      responses: {
        201: jsonResponse(WebhookSchema.extend({ secret: z.string() }), "The webhook, with its secret."),
        ...commonErrors,
        ...conflictError,
      },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.createWebhook(caller, c.req.valid("json"))), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/webhooks",
      tags: ["Changes"],
      summary: "List webhooks",
      security: bearerSecurity,
      responses: { 200: jsonResponse(listOf(WebhookSchema), "The tenant's webhooks (at most 10)."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json({ items: await t.call((s, caller) => s.listWebhooks(caller)), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/webhooks/{id}",
      tags: ["Changes"],
      summary: "A webhook",
      security: bearerSecurity,
      request: { params: Id },
      responses: { 200: jsonResponse(WebhookSchema, "The webhook."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.getWebhook(caller, c.req.valid("param").id)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/v1/webhooks/{id}",
      tags: ["Changes"],
      summary: "Delete a webhook and its pending deliveries",
      security: bearerSecurity,
      request: { params: Id },
      responses: { 200: jsonResponse(z.object({ deleted: z.literal(true) }), "Deleted."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      return c.json(await t.call((s, caller) => s.deleteWebhook(caller, c.req.valid("param").id)), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/webhooks/{id}/deliveries",
      tags: ["Changes"],
      summary: "A webhook's deliveries, newest first, with their attempts",
      security: bearerSecurity,
      request: { params: Id, query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
      responses: { 200: jsonResponse(listOf(DeliverySchema), "Deliveries."), ...commonErrors },
    }),
    async (c) => {
      const t = await tenantClient(c);
      const { id } = c.req.valid("param");
      return c.json(await t.call((s, caller) => s.webhookDeliveries(caller, id, c.req.valid("query").limit)), 200);
    },
  );
