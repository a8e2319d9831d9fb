// Route declarations: every sub-app is an OpenAPIHono whose failed validations become the
// project's problem+json (never zod's raw output), and shared schemas for the document.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { ApiError } from "./errors";

export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({
          path: i.path.map(String).join("."),
          message: i.message,
        }));
        const first = issues[0];
        const where = first?.path ? `${result.target} field '${first.path}'` : result.target;
        throw new ApiError("validation_failed", `Invalid ${where}: ${first?.message ?? "invalid input"}.`, {
          errors: issues,
        });
      }
    },
  });
}

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string(),
  })
  .openapi("Problem");

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** The problem responses every authenticated route can give. */
export const commonErrors = {
  400: problem("Invalid request (validation_failed)."),
  401: problem("Missing or invalid credential (unauthenticated)."),
  403: problem("Not allowed (forbidden, tenant_suspended, quota_exceeded)."),
  404: problem("Not found, or not visible to this credential (not_found)."),
  410: problem("The tenant has been cancelled (tenant_cancelled)."),
  429: problem("Rate limited (rate_limited)."),
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
