// The engine of the read-only cross-tenant aggregate (POST /v1/admin/query for platform admins,
// POST /v1/org/query over an organisation's descendants): one collection over pages of tenants,
// fanned out with bounded concurrency and streamed as NDJSON, one line per tenant.
import type { AggregateSpec } from "../../durable-objects/contract/lifecycle";
import { rememberJurisdiction } from "../jurisdiction";
import { tenantStub } from "../tenant-stub";

const CONCURRENCY = 8;

/** What the engine needs of a tenant: "deleted" stands for an id that is no tenant to the asker. */
export interface AggregateTarget {
  id: string;
  status: string;
  jurisdiction: string | null;
}

export const unknownTarget = (id: string): AggregateTarget => ({ id, status: "deleted", jurisdiction: null });

async function lineFor(env: Env, row: AggregateTarget, spec: AggregateSpec): Promise<string> {
  if (row.status === "deleted" || row.status === "provisioning") {
    return JSON.stringify({ tenant: row.id, error: { code: "not_found", detail: "No such tenant." } });
  }
  rememberJurisdiction(row.id, row.jurisdiction);
  try {
    const result = await tenantStub(env, row.id).aggregate(spec);
    return JSON.stringify(
      result.ok
        ? { tenant: row.id, result: result.value }
        : { tenant: row.id, error: { code: result.code, detail: result.detail } },
    );
  } catch {
    return JSON.stringify({
      tenant: row.id,
      error: { code: "service_unavailable", detail: "The tenant did not answer." },
    });
  }
}

/** Streams one line per tenant of `pages` as the answers come (the work outlives the handler). */
export function aggregateStream(
  env: Env,
  ctx: ExecutionContext,
  pages: AsyncGenerator<AggregateTarget[]>,
  spec: AggregateSpec,
): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const work = (async () => {
    try {
      for await (const page of pages) {
        for (let i = 0; i < page.length; i += CONCURRENCY) {
          const lines = await Promise.all(page.slice(i, i + CONCURRENCY).map((row) => lineFor(env, row, spec)));
          await writer.write(encoder.encode(`${lines.join("\n")}\n`));
        }
      }
    } finally {
      await writer.close();
    }
  })();
  ctx.waitUntil(work);
  return new Response(readable, { status: 200, headers: { "content-type": "application/x-ndjson" } });
}
