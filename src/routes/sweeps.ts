// Sweep runs: list them, or start one now (platform admins).
import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, requireAdmin } from "../caller";
import { adminAuditInsert, controlDb } from "../control/control-db";
import { SWEEP_KINDS } from "../control/schema";
import { invalid, notFound } from "../errors";
import { bearerSecurity, commonErrors, jsonBody, jsonResponse, listOf, newRouter } from "../openapi";
import { afterOf, cursorAfter, PageQuery } from "../page-query";
import { advanceById, startRun } from "../sweeps/sweep-runner";
import { getRun, listRuns } from "../sweeps/sweep-runs";

const SweepSchema = z
  .object({
    id: z.string(),
    kind: z.enum(SWEEP_KINDS),
    status: z.enum(["pending", "running", "completed", "failed"]),
    trigger: z.enum(["cron", "manual"]),
    cursor: z.string().nullable(),
    tenants: z.number(),
    failures: z.number(),
    counts: z.record(z.string(), z.number()),
    errors: z.array(z.object({ tenant: z.string(), error: z.string() })),
    startedAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("SweepRun");

const view = ({ leaseUntil: _lease, ...run }: Awaited<ReturnType<typeof listRuns>>[number]) => run;

export const sweepRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/sweeps",
      tags: ["Operations"],
      summary: "Sweep runs (retention, billing, backup, migrate, reconcile), newest first",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(listOf(SweepSchema), "Sweep runs."), ...commonErrors },
    }),
    async (c) => {
      const { cursor, limit } = c.req.valid("query");
      // The cursor holds the last run's start and id ("<startedAt>|<id>": ids are UUIDs, no "|").
      const [startedAt, id] = (afterOf(cursor) ?? "").split("|");
      const before = startedAt && id ? { startedAt, id } : null;
      if (cursor && !before) throw invalid("The cursor is not valid.", { field: "cursor" });
      const runs = await listRuns(c.env, limit + 1, before);
      const page = runs.slice(0, limit);
      const last = page.at(-1);
      return c.json(
        {
          items: page.map(view),
          nextCursor: runs.length > limit && last ? cursorAfter(`${last.startedAt}|${last.id}`) : null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/sweeps/{id}",
      tags: ["Operations"],
      summary: "One sweep run",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { params: z.object({ id: z.string().uuid() }) },
      responses: { 200: jsonResponse(SweepSchema, "The run."), ...commonErrors },
    }),
    async (c) => {
      const run = await getRun(c.env, c.req.valid("param").id);
      if (!run) throw notFound("No such sweep run.");
      return c.json(view(run), 200);
    },
  )
  .openapi(
    createRoute({
      method: "post",
      path: "/v1/sweeps",
      tags: ["Operations"],
      summary: "Start a sweep now; it continues on later cron ticks if one invocation cannot finish it",
      security: bearerSecurity,
      middleware: [adminOnly] as const,
      request: { body: jsonBody(z.strictObject({ kind: z.enum(SWEEP_KINDS) })) },
      responses: { 202: jsonResponse(SweepSchema, "The run, started."), ...commonErrors },
    }),
    async (c) => {
      const actor = requireAdmin(c);
      const run = await startRun(c.env, c.req.valid("json").kind, "manual");
      await adminAuditInsert(controlDb(c.env), actor, "sweep.start", null, { kind: run.kind, run: run.id });
      c.executionCtx.waitUntil(advanceById(c.env, run.id));
      return c.json(view(run), 202);
    },
  );
