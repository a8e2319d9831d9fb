// The OpenAPI document checked by a real OpenAPI 3.1 validator. This runs in Node (the
// validator compiles JSON schemas with `new Function`, which workerd forbids); the document is
// the one the Worker serves, built by the same app.
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";

describe("/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const res = await createApp().request("/openapi.json", {}, { LOG_REQUESTS: "off" });
    const doc = await res.json();
    const validator = new Validator();
    const result = await validator.validate(doc as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)?.slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("has an example on the main operations", async () => {
    const doc = (await (await createApp().request("/openapi.json", {}, { LOG_REQUESTS: "off" })).json()) as {
      components: { schemas: Record<string, { example?: unknown }> };
    };
    for (const name of ["CreateTenant", "CreateCollection", "Batch", "CreateApiKey", "AddMember", "CreateShare"]) {
      expect(doc.components.schemas[name]?.example, name).toBeDefined();
    }
  });
});
