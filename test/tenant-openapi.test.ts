// GET /v1/openapi.json with a tenant credential: the tenant's own records API, one schema per
// collection, and the records the live API answers are valid against it (as each caller reads
// them). test/node/typed-client.node.test.ts generates TypeScript from it and compiles a client.
import { type Schema, Validator } from "@cfworker/json-schema";
import { describe, expect, it } from "vitest";
import { create } from "./data-helpers";
import { call, createTenant, json, userToken } from "./helpers";

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema & { properties?: Record<string, Schema>; required?: string[] }> };
}

const PATIENTS = {
  name: "patients",
  fields: [
    { name: "name", type: "string", required: true },
    { name: "age", type: "integer", pii: true },
    { name: "ward", type: "enum", values: ["a", "b"], required: true, default: "a" },
    { name: "admitted", type: "datetime" },
    { name: "notes", type: "json" },
  ],
};

async function tenant() {
  const t = await createTenant();
  expect((await call("/v1/collections", { method: "POST", token: t.ownerToken, body: PATIENTS })).status).toBe(201);
  await call("/v1/members", { method: "POST", token: t.ownerToken, body: { sub: "vic", roles: ["viewer"] } });
  return { ...t, viewer: await userToken(t.id, "vic") };
}

const documentOf = async (token: string) => {
  const res = await call("/v1/openapi.json", { token });
  expect(res.status).toBe(200);
  return json<Doc>(res);
};

const valid = (doc: Doc, name: string, value: unknown) =>
  new Validator({ ...doc.components.schemas[name], $defs: {} } as Schema, "2020-12").validate(value);

describe("a tenant's own OpenAPI document", () => {
  it("types each collection's records, inputs and patches from its fields", async () => {
    const t = await tenant();
    const doc = await documentOf(t.ownerToken);
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual([
      "/v1/collections/patients/aggregate",
      "/v1/collections/patients/records",
      "/v1/collections/patients/records/{id}",
    ]);
    const record = doc.components.schemas.patients;
    expect(record?.properties?.age).toEqual({ type: ["integer", "null"] });
    expect(record?.properties?.ward).toEqual({ type: "string", enum: ["a", "b"] });
    expect(record?.properties?.id).toMatchObject({ type: "string", readOnly: true });
    // Required without a default: must be given on create; a default makes it optional.
    expect(doc.components.schemas["patients.create"]?.required).toEqual(["name"]);
    expect(doc.components.schemas["patients.create"]?.properties).not.toHaveProperty("id");
    expect(doc.components.schemas["patients.patch"]?.required).toBeUndefined();
  });

  it("describes the records the API answers, as each caller reads them", async () => {
    const t = await tenant();
    const rec = await create(
      t.ownerToken,
      { name: "Ann", age: 41, admitted: "2026-11-30T10:00:00.000Z", notes: { a: 1 } },
      "patients",
    );
    const asViewer = await json(await call(`/v1/collections/patients/records/${rec.id}`, { token: t.viewer }));
    expect(asViewer.age).toBe("***");

    const owners = await documentOf(t.ownerToken);
    const viewers = await documentOf(t.viewer);
    expect(valid(owners, "patients", rec).valid).toBe(true);
    expect(valid(viewers, "patients", asViewer).valid).toBe(true);
    // Each document is the caller's: the owner's says age is an integer, which a masked read is not.
    expect(valid(owners, "patients", asViewer).valid).toBe(false);
    expect(viewers.components.schemas.patients?.properties?.age).toMatchObject({ type: ["string", "null"] });
    // A field the collection does not have, or a value of the wrong type, is not a valid input.
    expect(valid(owners, "patients.create", { name: "Bo", agee: 3 }).valid).toBe(false);
    expect(valid(owners, "patients.create", { name: "Bo", ward: "c" }).valid).toBe(false);
    expect(valid(owners, "patients.create", { name: "Bo", age: 3 }).valid).toBe(true);
    // The aggregate route's answer is described too.
    const groups = await json(await call("/v1/collections/patients/aggregate?metric=avg:age", { token: t.ownerToken }));
    const op = owners.paths["/v1/collections/patients/aggregate"]?.get as {
      responses: Record<string, { content: Record<string, { schema: Schema }> }>;
    };
    const schema = op.responses["200"]?.content["application/json"]?.schema as Schema;
    expect(new Validator(schema, "2020-12").validate(groups).valid).toBe(true);
    expect(new Validator(schema, "2020-12").validate({ items: [{ group: null }], nextCursor: null }).valid).toBe(false);
  });

  it("follows the collections as they change, and is refused without a credential", async () => {
    const t = await tenant();
    await call("/v1/collections/patients", {
      method: "PATCH",
      token: t.ownerToken,
      body: { rename: { name: "full_name" } },
    });
    const doc = await documentOf(t.ownerToken);
    expect(doc.components.schemas.patients?.properties).toHaveProperty("full_name");
    expect(doc.components.schemas.patients?.properties).not.toHaveProperty("name");
    expect((await call("/v1/openapi.json")).status).toBe(401);
  });
});
