// The per-tenant part of a platform admin's cross-tenant query: one read-only aggregate over one
// collection. Encrypted and pii fields are never aggregated or grouped (their values would leak).

import { z } from "zod";
import { loadDefinition } from "../collections/collections";
import type { AggregateResult } from "../contract/lifecycle";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import * as q from "../sql/sql-builder";

export const AggregateSchema = z.strictObject({
  collection: z.string().regex(q.IDENTIFIER),
  aggregate: z.enum(["count", "sum", "min", "max"]),
  field: z.string().regex(q.IDENTIFIER).nullable().default(null),
  groupBy: z.string().regex(q.IDENTIFIER).nullable().default(null),
  tenants: z.array(z.string()).max(1000).nullable().default(null),
});

export type AggregateSpec = z.infer<typeof AggregateSchema>;

export function aggregate(store: Store, spec: AggregateSpec): Result<AggregateResult> {
  const def = loadDefinition(store, spec.collection);
  if (!def) return fail("not_found", `No collection '${spec.collection}' in this tenant.`);
  const fieldOf = (name: string) => def.fields.find((f) => f.name === name);
  if (spec.aggregate !== "count") {
    const f = spec.field ? fieldOf(spec.field) : undefined;
    if (!f || !["integer", "number"].includes(f.type) || f.encrypted || f.pii) {
      return fail("validation_failed", `'${spec.field}' is not a plain numeric field here.`);
    }
  }
  if (spec.groupBy) {
    const g = fieldOf(spec.groupBy);
    if (!g || g.encrypted || g.pii || g.type === "json" || g.type === "text") {
      return fail("validation_failed", `'${spec.groupBy}' cannot be grouped by here.`);
    }
  }
  const rows = q
    .exec<{ grp?: SqlStorageValue; value: number | null }>(
      store.sql,
      q.aggregateStatement(def.name, spec.aggregate, spec.field, spec.groupBy),
    )
    .toArray();
  if (!spec.groupBy) return ok(rows[0]?.value ?? null);
  return ok(rows.map((r) => ({ group: r.grp instanceof ArrayBuffer ? null : (r.grp ?? null), value: r.value })));
}
