// The planning documents' own examples, modelled by a tenant through the API: templates,
// recipient lists, campaigns referring to both, and documents with classification.
import { describe, expect, it } from "vitest";
import { create, list, type Page } from "./data-helpers";
import { call, createTenant, json } from "./helpers";

describe("modelling the seeds' examples", () => {
  it("templates, recipient lists, campaigns and documents: refs, json, enums, search, history", async () => {
    const t = await createTenant();
    const token = t.ownerToken;
    const collections = [
      {
        name: "templates",
        fields: [
          { name: "name", type: "string", required: true, unique: true },
          { name: "html", type: "text" },
        ],
      },
      {
        name: "recipient_lists",
        fields: [
          { name: "name", type: "string", required: true },
          { name: "emails", type: "json" },
          { name: "size", type: "integer", indexed: true },
        ],
      },
      {
        name: "campaigns",
        fields: [
          { name: "subject", type: "string", required: true, searchable: true },
          { name: "template", type: "ref", collection: "templates", required: true },
          { name: "list", type: "ref", collection: "recipient_lists" },
          { name: "status", type: "enum", values: ["draft", "scheduled", "sent"], default: "draft" },
          { name: "send_at", type: "datetime" },
        ],
      },
      {
        name: "documents",
        acl: true,
        fields: [
          { name: "title", type: "string", required: true, searchable: true },
          { name: "body", type: "text", searchable: true },
        ],
      },
    ];
    for (const body of collections) {
      const res = await call("/v1/collections", { method: "POST", token, body });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    const template = await create(token, { name: "welcome", html: "<p>Hi</p>" }, "templates");
    const listRec = await create(
      token,
      { name: "customers", emails: ["a@x.io", "b@x.io"], size: 2 },
      "recipient_lists",
    );
    const campaign = await create(
      token,
      { subject: "Welcome aboard", template: template.id, list: listRec.id, send_at: "2026-12-01T09:00:00Z" },
      "campaigns",
    );
    expect(campaign).toMatchObject({ status: "draft", template: template.id });
    const dangling = await call("/v1/collections/campaigns/records", {
      method: "POST",
      token,
      body: { subject: "x", template: "missing" },
    });
    expect(dangling.status).toBe(400);
    await call(`/v1/collections/campaigns/records/${campaign.id}`, {
      method: "PATCH",
      token,
      body: { status: "sent" },
    });
    const doc = await create(
      token,
      { title: "Runbook", body: "how we send campaigns", classification: "confidential" },
      "documents",
    );
    expect(doc).toMatchObject({ owner: t.owner, visibility: "private", classification: "confidential" });

    expect((await list(token, "status=eq.sent", "campaigns")).items.map((r) => r.id)).toEqual([campaign.id]);
    expect((await list(token, "size=gte.2", "recipient_lists")).items[0]?.emails).toEqual(["a@x.io", "b@x.io"]);
    const hits = await json<Page<{ collection: string }>>(await call("/v1/search?q=campaigns", { token }));
    expect(hits.items.map((h) => h.collection)).toEqual(["documents"]);
    const history = await json<Page>(await call(`/v1/collections/campaigns/records/${campaign.id}/history`, { token }));
    expect(history.items).toHaveLength(2);
    expect(await json(await call("/v1/audit/verify", { token }))).toMatchObject({ ok: true });
  });
});
