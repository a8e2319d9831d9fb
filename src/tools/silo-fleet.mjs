// `silo fleet schema` and `silo fleet alerts`: the fleet's schema versions and the tenants that
// need an operator, with numbers read as the portal shows them.
import { formatCount, formatDateTime, formatMetric, formatPercent, metricLabel } from "../portal/format.ts";

const pad = (value, width) => String(value ?? "").padEnd(width);
const plural = (n, one, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

const ALERT_LABELS = {
  near_limit: "near a limit",
  errors: "5xx answers (last hour)",
  sweep_failed: "sweep failed",
  migration_failed: "migration failed",
  config_behind: "config not applied",
  provisioning_stuck: "create never finished",
};

function alertDetail(a) {
  if (a.kind === "near_limit") {
    // The limit is in the metric's own unit (bytes for storage).
    const metric = a.metric ?? "";
    return `${metricLabel(metric)} ${formatMetric(metric, a.value)} of ${formatMetric(metric, a.limit)} (${formatPercent(a.value / a.limit)})`;
  }
  if (a.kind === "errors") return plural(a.value, "error");
  if (a.kind === "config_behind") return `applied ${formatCount(a.value)} of version ${formatCount(a.limit)}`;
  if (a.kind === "sweep_failed") return `last ${a.metric} run`;
  if (a.kind === "migration_failed") return `on ${a.metric ?? "unknown"}`;
  return "";
}

/** `silo fleet schema|alerts`; `usageError` makes the CLI's error for a wrong action. */
export async function fleet(api, [action], values, usageError) {
  if (action === "schema") {
    const s = await api.json("GET", "/v1/fleet/schema");
    if (values.json) return console.log(JSON.stringify(s, null, 2));
    const total = Object.values(s.tenants).reduce((a, b) => a + b, 0);
    console.log(`Newest migration: ${s.latest}`);
    console.log(`${pad("SCHEMA", 30)}${pad("TENANTS", 12)}SHARE`);
    for (const [tag, n] of Object.entries(s.tenants).sort(([a], [b]) => (a < b ? 1 : -1))) {
      const mark = tag === s.latest ? " (newest)" : "";
      console.log(`${pad(tag + mark, 30)}${pad(formatCount(n), 12)}${formatPercent(total ? n / total : 0)}`);
    }
    if (s.failed.length === 0) return console.log("No failed migrations.");
    console.log(`\n${plural(s.failed.length, "failed migration")}:`);
    for (const f of s.failed) console.log(`  ${pad(f.tenant, 24)}${pad(formatDateTime(f.at), 26)}${f.error}`);
    process.exitCode = 1;
    return;
  }
  if (action === "alerts") {
    const items = [];
    let cursor;
    do {
      const q = new URLSearchParams({ limit: "1000" });
      if (cursor) q.set("cursor", cursor);
      const page = await api.json("GET", `/v1/fleet/alerts?${q}`);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    if (values.json) return console.log(JSON.stringify(items, null, 2));
    if (items.length === 0) return console.log("No tenant needs attention.");
    console.log(`${pad("TENANT", 24)}${pad("ALERT", 25)}${pad("SINCE", 26)}DETAIL`);
    for (const a of items) {
      console.log(
        `${pad(a.tenant, 24)}${pad(ALERT_LABELS[a.kind] ?? a.kind, 25)}${pad(formatDateTime(a.since), 26)}${alertDetail(a)}`,
      );
    }
    return;
  }
  throw usageError(`Unknown fleet action '${action ?? ""}'.`);
}
