// The statement of a tenant user's aggregate (GET /v1/collections/{name}/aggregate): one metric
// over a collection's rows, optionally grouped by a column's value or its UTC day or month, with
// the same filter and ACL fragments as a records list. Identifiers only through identifiers.ts.
import { collectionTable, ident, type Statement, statement } from "./identifiers";
import type { Fragment } from "./select";

export type MetricFn = "count" | "sum" | "avg" | "min" | "max";
export type Bucket = "value" | "day" | "month";

export interface AggregateQuery {
  collection: string;
  fn: MetricFn;
  /** The column the metric reads (null for count). */
  column: string | null;
  group: { column: string; bucket: Bucket } | null;
  /** Filters, the live-rows condition and the caller's ACL, ANDed. */
  where: Fragment[];
  /** Groups returned at most (one more is asked for, to tell the caller there were more). */
  maxGroups: number;
}

const FN_SQL: Record<MetricFn, string> = { count: "count", sum: "sum", avg: "avg", min: "min", max: "max" };

function groupExpr(group: NonNullable<AggregateQuery["group"]>): string {
  const col = ident(group.column);
  // strftime reads ISO 8601 with an offset and answers in UTC.
  if (group.bucket === "day") return `strftime('%Y-%m-%d', ${col})`;
  if (group.bucket === "month") return `strftime('%Y-%m', ${col})`;
  return col;
}

/** Rows `{grp, value}` ordered by group ascending (NULL first), at most maxGroups + 1 of them. */
export function aggregateQuery(q: AggregateQuery): Statement {
  const value = q.column === null ? "count(*)" : `${FN_SQL[q.fn]}(${ident(q.column)})`;
  const where = q.where.length ? q.where.map((f) => f.sql).join(" AND ") : "1";
  const params = q.where.flatMap((f) => f.params);
  const from = `WITH src AS (SELECT * FROM ${collectionTable(q.collection)}) SELECT`;
  if (!q.group) return statement(`${from} NULL AS grp, ${value} AS value FROM src WHERE ${where}`, params);
  const grp = groupExpr(q.group);
  return statement(
    `${from} ${grp} AS grp, ${value} AS value FROM src WHERE ${where} GROUP BY grp ORDER BY grp LIMIT ?`,
    [...params, q.maxGroups + 1],
  );
}
