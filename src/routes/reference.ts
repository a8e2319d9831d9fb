// Reference data (DESIGN §13): a descendant tenant's members read the collections an ancestor
// created with "shared": true, never write them. The nearest ancestor with a shared collection of
// that name serves it, from its own object, as a reference reader (durable-objects/org/reference.ts):
// records:read only, pii masked, public records only where the collection has ACLs.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ReferenceReader } from "../../durable-objects/contract/caller";
import { RECORD_ID_PATTERN } from "../../durable-objects/contract/identifiers";
import type { ReferenceAnswer } from "../../durable-objects/contract/records";
import type { Answer } from "../../durable-objects/contract/result";
import type { AppEnv } from "../context";
import { ancestorsOf } from "../control/org-tree";
import { notFound } from "../errors";
import { resolveJurisdiction } from "../jurisdiction";
import { bearerSecurity, commonErrors, jsonResponse, listOf, newRouter } from "../openapi";
import { answerValue, tenantClient, withRetries } from "../tenant-client";
import { type TenantStub, tenantStub } from "../tenant-stub";
import { CollectionName } from "./collections";

const RecordSchema = z.record(z.string(), z.unknown()).openapi("ReferenceRecord");

const RecordId = z
  .string()
  .regex(RECORD_ID_PATTERN)
  .openapi({ param: { name: "id", in: "path" } });

const ListQuery = z.looseObject({
  sort: z.string().optional(),
  fields: z.string().optional(),
  limit: z.string().optional(),
  cursor: z.string().optional(),
  as_of: z.string().optional(),
});

/**
 * Admits the caller in its own tenant (records:read), then asks its ancestors, nearest first, for
 * their shared collection `name`; the first that has one answers. None: 404, as for any name.
 */
async function fromAncestors<T>(
  c: Context<AppEnv>,
  name: string,
  read: (stub: TenantStub, reader: ReferenceReader) => Promise<Answer<ReferenceAnswer<T>>>,
): Promise<T> {
  const t = await tenantClient(c);
  const [reader, ancestors] = await Promise.all([
    t.call((s, caller) => s.referenceReader(caller)),
    ancestorsOf(c.env, t.tenantId),
  ]);
  for (const ancestor of ancestors) {
    await resolveJurisdiction(c.env, ancestor);
    const answer = answerValue(
      await withRetries(
        () => tenantStub(c.env, ancestor),
        (s) => read(s, reader),
        true,
      ),
    );
    if (answer.shared) return answer.value;
  }
  throw notFound(`No reference collection '${name}'.`);
}

export const referenceRoutes = newRouter()
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/reference/{name}/records",
      tags: ["Reference data"],
      summary: "List an ancestor's shared collection: the same filters, sort, fields, cursor and as_of as records",
      security: bearerSecurity,
      request: { params: z.object({ name: CollectionName }), query: ListQuery },
      responses: { 200: jsonResponse(listOf(RecordSchema), "A page of reference records."), ...commonErrors },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const params = Object.fromEntries(Object.entries(c.req.query()));
      const page = await fromAncestors(c, name, (s, reader) => s.referenceRecords(reader, name, params));
      return c.json(page, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/v1/reference/{name}/records/{id}",
      tags: ["Reference data"],
      summary: "Get one record of an ancestor's shared collection",
      security: bearerSecurity,
      request: { params: z.object({ name: CollectionName, id: RecordId }) },
      responses: { 200: jsonResponse(RecordSchema, "The reference record."), ...commonErrors },
    }),
    async (c) => {
      const { name, id } = c.req.valid("param");
      return c.json(await fromAncestors(c, name, (s, reader) => s.referenceRecord(reader, name, id)), 200);
    },
  );
