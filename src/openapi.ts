// Route declarations: every sub-app is an OpenAPIHono whose failed validations become the
// project's problem+json (never zod's raw output), and shared schemas for the document.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Router } from "hono/router";
import type { H, RouterRoute } from "hono/types";
import { failFromZod } from "../durable-objects/contract/result";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

type Target = "query" | "param" | "header";

function parsed(schema: z.ZodType, value: unknown, target: Target): unknown {
  const result = schema.safeParse(value);
  if (!result.success) throw ApiError.from(failFromZod(result.error, target));
  return result.data;
}

/**
 * A route's query, path and header schemas checked by one synchronous middleware, in the order
 * and with the problems of zod-openapi's own validators (one async middleware each, which cost a
 * record read ~7% of its CPU). A header schema that drops unknown keys reads only its own headers.
 */
function requestParts(query?: z.ZodType, params?: z.ZodType, headers?: z.ZodType): MiddlewareHandler<AppEnv> {
  const headerNames = headers instanceof z.ZodObject && !headers.def.catchall ? Object.keys(headers.shape) : null;
  return async (c, next) => {
    if (query) {
      const values = Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? v[0] : v]);
      c.req.addValidatedData("query", parsed(query, Object.fromEntries(values), "query") as never);
    }
    if (params) c.req.addValidatedData("param", parsed(params, c.req.param(), "param") as never);
    if (headers) {
      let values: Record<string, string> = {};
      if (headerNames) {
        for (const name of headerNames) {
          const value = c.req.header(name);
          if (value !== undefined) values[name] = value;
        }
      } else {
        values = c.req.header();
      }
      c.req.addValidatedData("header", parsed(headers, values, "header") as never);
    }
    await next();
  };
}

/** A sub-app (its routes are added to the app's router when it is mounted), or with `router` the app itself. */
export function newRouter(options: { router?: Router<[H, RouterRoute]> } = {}) {
  const router = new OpenAPIHono<AppEnv>({
    ...options,
    defaultHook: (result) => {
      if (!result.success) throw ApiError.from(failFromZod(result.error, result.target));
    },
  });
  // Routes declare their schemas as zod-openapi expects (the document is generated from them);
  // query, path and headers are then checked by requestParts, the body as before.
  const declare = router.openapi;
  router.openapi = ((route, handler, hook) => {
    const { query, params, headers, ...request } = route.request ?? {};
    if (hook || !(query || params || headers)) return declare(route, handler, hook);
    const { middleware, hide, ...doc } = route;
    if (!hide) router.openAPIRegistry.registerPath(doc);
    const own = middleware ? [middleware].flat() : [];
    return declare(
      { ...route, hide: true, request, middleware: [...own, requestParts(query, params, headers as z.ZodType)] },
      handler,
    );
  }) as typeof router.openapi;
  return router;
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
    // RFC 9457 extension members, each present only where it applies.
    field: z.string().optional().openapi({ description: "The field, header or parameter at fault." }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "validation_failed on a request schema: every issue found." }),
    allowed: z.array(z.string()).optional().openapi({ description: "The tenant's allowed file types." }),
    limit: z.number().optional().openapi({ description: "payload_too_large, quota_exceeded: the limit." }),
    current: z.number().optional().openapi({ description: "quota_exceeded: the current use." }),
    version: z.number().int().optional().openapi({ description: "precondition_failed: the record's version." }),
    operation: z.number().int().optional().openapi({ description: "A batch: the index of the failed operation." }),
    retryAfter: z.number().optional().openapi({ description: "rate_limited: seconds, as in Retry-After." }),
    config: z.object({ version: z.number().int(), applied: z.number().int() }).optional().openapi({
      description: "service_unavailable after a saved tenant change: the version saved and the one applied.",
    }),
    feature: z.string().optional().openapi({ description: "feature_not_in_plan: the plan feature the route needs." }),
    tier: z.string().optional().openapi({ description: "feature_not_in_plan: the tenant's tier." }),
    missing: z
      .array(z.string())
      .optional()
      .openapi({ description: "forbidden by the grant rule: the permissions the caller would need." }),
    reason: z
      .enum(["cycle", "depth"])
      .optional()
      .openapi({ description: "conflict on a tenant's parent: it would make a cycle, or more than three levels." }),
  })
  .openapi("Problem");

const headerOf = (description: string) => ({ description, schema: { type: "string" as const }, required: true });

export const problem = (description: string, headers?: Record<string, ReturnType<typeof headerOf>>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** Retry-After and the tenant's RateLimit state, on every rate-limited answer. */
export const rateLimited = problem("Rate limited (rate_limited).", {
  "Retry-After": headerOf("Seconds until a request will be admitted."),
  RateLimit: headerOf('The tenant\'s remaining requests and reset time, e.g. "tenant";r=0;t=1.'),
  "RateLimit-Policy": headerOf('The tenant\'s policy, e.g. "tenant";q=10;w=1.'),
});

/** The problem responses every authenticated route can give. */
export const commonErrors = {
  400: problem("Invalid request (validation_failed)."),
  401: problem("Missing or invalid credential (unauthenticated)."),
  403: problem("Not allowed (forbidden, tenant_suspended, quota_exceeded, feature_not_in_plan)."),
  404: problem("Not found, or not visible to this credential (not_found)."),
  410: problem("The tenant has been cancelled (tenant_cancelled)."),
  413: problem("The request body is over the limit (payload_too_large)."),
  429: rateLimited,
  503: problem(
    "The tenant is busy or being restored, or a saved change is not applied yet; retry after the given seconds (service_unavailable).",
    {
      "Retry-After": headerOf("Seconds to wait before retrying."),
    },
  ),
} as const;

export const conflictError = {
  409: problem("Conflicts with the current state (conflict), or destroys data under legal hold (legal_hold)."),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description = "JSON body") => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const bearerSecurity = [{ bearer: [] as string[] }];

export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

type Document = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

/**
 * What holds for every POST, declared once for all of them: the Idempotency-Key header, and the
 * 409 its reuse with another request answers.
 */
export function withPostConventions(doc: Document): Document {
  for (const item of Object.values(doc.paths ?? {})) {
    const post = item.post;
    if (!post) continue;
    post.parameters = [
      ...(post.parameters ?? []),
      {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description:
          "Repeating the POST with this key within 24 h answers the first answer without doing the work again; " +
          "the key with another request answers 409 conflict.",
        schema: { type: "string", minLength: 1, maxLength: 200 },
      },
    ];
    post.responses ??= {};
    post.responses["409"] ??= {
      description:
        "The Idempotency-Key was used for another request, or its first request is still running (conflict).",
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
    };
  }
  return doc;
}
