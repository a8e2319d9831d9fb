// Usage against each limit as a bar: an ARIA meter carrying the raw values and a readable text
// ("12.3 MiB of 50 GiB (0.02%)"), marked warning over 80% and critical at the limit. Pure HTML
// and CSS; the state is also said in words, not only in colour.
import { html } from "hono/html";
import { LIMIT_OF_METRIC } from "../../durable-objects/contract/usage";
import { formatLimit, formatMetric, formatPercent, UNLIMITED } from "./format";

/** The usage counters that have a limit, with the limit that bounds each. */
export const LIMITED_METRICS = [
  { metric: "storageBytes", limit: LIMIT_OF_METRIC.storageBytes, label: "Storage" },
  { metric: "records", limit: LIMIT_OF_METRIC.records, label: "Records" },
  { metric: "members", limit: LIMIT_OF_METRIC.members, label: "Members" },
  { metric: "collections", limit: LIMIT_OF_METRIC.collections, label: "Collections" },
  { metric: "requests", limit: LIMIT_OF_METRIC.requests, label: "Requests this month" },
] as const;

export type Level = "ok" | "warn" | "critical";

/** Over 80% of a limit is a warning; at or past it, critical. A limit of 0 admits nothing more. */
export function usageLevel(used: number, limit: number): Level {
  if (limit <= 0) return "critical";
  const ratio = used / limit;
  return ratio >= 1 ? "critical" : ratio > 0.8 ? "warn" : "ok";
}

/** "12.3 MiB of 50 GiB (0.02%)"; "3 (no limit)" when the limit is the unlimited sentinel. */
export function usageText(metric: string, used: number, limitKey: string, limit: number): string {
  const amount = formatMetric(metric, used);
  if (limit >= UNLIMITED) return `${amount} (no limit)`;
  if (limit <= 0) return `${amount} of ${formatLimit(limitKey, limit)} (none allowed)`;
  return `${amount} of ${formatLimit(limitKey, limit)} (${formatPercent(used / limit)})`;
}

const NOTE: Record<Level, string> = { ok: "", warn: "near the limit", critical: "at the limit" };

/** One row: the metric's name, its bar and its text. */
function limitRow(item: (typeof LIMITED_METRICS)[number], used: number, limit: number) {
  const id = `meter-${item.metric}`;
  const text = usageText(item.metric, used, item.limit, limit);
  if (limit >= UNLIMITED)
    return html`<tr><th scope="row">${item.label}</th><td><span class="bar-text">${text}</span></td></tr>`;
  const level = usageLevel(used, limit);
  const share = limit > 0 ? Math.min(100, (used / limit) * 100) : 100;
  // A little usage still shows as a sliver; the meter's own values stay exact.
  const width = used > 0 ? Math.max(share, 0.5) : share;
  // ARIA wants the value within [min, max]: past the limit the bar is full and the text says by how much.
  const now = Math.min(Math.max(used, 0), Math.max(limit, 0));
  return html`<tr><th scope="row" id="${id}">${item.label}</th><td><div class="bar ${level}" role="meter" aria-labelledby="${id}" aria-valuemin="0" aria-valuemax="${limit}" aria-valuenow="${now}" aria-valuetext="${text}"><span style="width:${width.toFixed(2)}%"></span></div>
<span class="bar-text">${text}</span>${level === "ok" ? "" : html` <strong class="level-${level}">${NOTE[level]}</strong>`}</td></tr>`;
}

/** The table of every limited metric against its limit, for the tenant page. */
export function limitBars(current: Record<string, number>, limits: Record<string, number>) {
  return html`<table class="limits"><caption class="hint">Usage against the limits</caption><tbody>${LIMITED_METRICS.filter(
    (item) => typeof limits[item.limit] === "number",
  ).map((item) => limitRow(item, current[item.metric] ?? 0, limits[item.limit] as number))}</tbody></table>`;
}
