// The per-tenant part of a platform admin's cross-tenant query: one read-only aggregate over one
// collection. Encrypted and pii fields are never aggregated or grouped (their values would leak).

import { loadDefinition } from "../collections/collections";
import type { AggregateResult, AggregateSpec } from "../contract/lifecycle";
import { fail, ok, type Result } from "../contract/result";
import type { Store } from "../db/store";
import * as ids from "../sql/identifiers";
import * as sel from "../sql/select";

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
  const rows = ids
    .exec<{ grp?: SqlStorageValue; value: number | null }>(
      store.sql,
      sel.aggregateStatement(def.name, spec.aggregate, spec.field, spec.groupBy),
    )
    .toArray();
  if (!spec.groupBy) return ok(rows[0]?.value ?? null);
  return ok(rows.map((r) => ({ group: r.grp instanceof ArrayBuffer ? null : (r.grp ?? null), value: r.value })));
}
