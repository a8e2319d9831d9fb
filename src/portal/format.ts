// Numbers as the portal shows them to people: bytes in binary units, counts with separators,
// money, rates, percentages, dates and readable names of limits and metrics. Pure functions with
// no locale data, so a page reads the same in every runtime.

/** Shown where a value is missing or not a number, instead of "NaN" or "undefined". */
export const NOT_A_NUMBER = "—";

/** Limits are validated up to Number.MAX_SAFE_INTEGER; a limit that high means "no limit". */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

const isNumber = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);

/** Groups the digits of a non-negative whole number by thousands, en-US style. */
function group(whole: number): string {
  const digits = whole < 1e21 ? whole.toFixed(0) : BigInt(whole).toString();
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Up to `decimals` decimals, trailing zeros dropped: 1.50 → "1.5", 50.0 → "50". */
function decimal(n: number, decimals: number): string {
  const sign = n < 0 ? "-" : "";
  if (Math.abs(n) >= 1e21) return sign + group(Math.round(Math.abs(n)));
  const [whole = "0", fraction = ""] = Math.abs(n).toFixed(decimals).split(".");
  const kept = fraction.replace(/0+$/, "");
  const text = `${group(Number(whole))}${kept ? `.${kept}` : ""}`;
  return text === "0" ? text : sign + text;
}

/** 1234567 → "1,234,567"; fractions keep one decimal (2.25 → "2.3"). */
export function formatCount(n: unknown): string {
  return isNumber(n) ? decimal(n, Number.isInteger(n) ? 0 : 1) : NOT_A_NUMBER;
}

/** 0 → "0 B", 1023 → "1,023 B", 1024 → "1 KiB", 1.5 GiB → "1.5 GiB"; past TiB stays in TiB. */
export function formatBytes(n: unknown): string {
  if (!isNumber(n)) return NOT_A_NUMBER;
  if (n < 0) return `-${formatBytes(-n)}`;
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.96 KiB rounds to 1,024.0: show it as the next unit instead.
  if (unit > 0 && unit < UNITS.length - 1 && Math.round(value * 10) / 10 >= 1024) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? group(Math.round(value)) : decimal(value, 1)} ${UNITS[unit]}`;
}

/** Cents as money in the currency the plans are priced in (US dollars): 123456 → "$1,234.56". */
/** A platform cost: fractions of a cent are typical, so below a dollar it shows four decimals. */
export function formatCost(cents: unknown): string {
  if (!isNumber(cents)) return NOT_A_NUMBER;
  return cents < 100 ? `$${(cents / 100).toFixed(4)}` : formatMoney(cents);
}

export function formatMoney(cents: unknown): string {
  if (!isNumber(cents)) return NOT_A_NUMBER;
  const sign = cents < 0 ? "-" : "";
  const abs = Math.round(Math.abs(cents));
  return `${sign}$${group(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, "0")}`;
}

/** A request rate: 1500 → "1,500 req/s". */
export function formatRate(perSecond: unknown): string {
  return isNumber(perSecond) ? `${formatCount(perSecond)} req/s` : NOT_A_NUMBER;
}

/** A share as a percentage, precise enough to tell a small share from none: "0.02%", "85.3%". */
export function formatPercent(ratio: unknown): string {
  if (!isNumber(ratio)) return NOT_A_NUMBER;
  const p = ratio * 100;
  if (p === 0) return "0%";
  if (p > 0 && p < 0.01) return "<0.01%";
  if (p < 1) return `${decimal(p, 2)}%`;
  // Below the limit never reads as "100%".
  if (p < 100) return `${decimal(Math.min(Number(p.toFixed(1)), 99.9), 1)}%`;
  return `${group(Math.floor(p))}%`;
}

/** How long a run took: 850 → "850 ms", 4200 → "4.2 s", 125000 → "2 min 5 s", then "1 h 3 min". */
export function formatDuration(ms: unknown): string {
  if (!isNumber(ms) || ms < 0) return NOT_A_NUMBER;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${decimal(ms / 1000, 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  const m = Math.round(s / 60);
  return `${group(Math.floor(m / 60))} h${m % 60 ? ` ${m % 60} min` : ""}`;
}

const asDate = (iso: unknown) => (typeof iso === "string" ? new Date(iso) : null);

/** An ISO timestamp as a UTC date and time to the second: "2026-12-01 10:18:42 UTC". */
export function formatDateTime(iso: unknown): string {
  const d = asDate(iso);
  if (!d || Number.isNaN(d.getTime())) return typeof iso === "string" && iso ? iso : NOT_A_NUMBER;
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** An ISO timestamp as its UTC day: "2026-12-01". */
export function formatDate(iso: unknown): string {
  const d = asDate(iso);
  if (!d || Number.isNaN(d.getTime())) return typeof iso === "string" && iso ? iso : NOT_A_NUMBER;
  return d.toISOString().slice(0, 10);
}

const LIMIT_LABELS: Record<string, string> = {
  requestsPerSecond: "Requests per second",
  burst: "Burst",
  maxRecords: "Records",
  maxStorageBytes: "Storage",
  maxMembers: "Members",
  maxCollections: "Collections",
  maxRequestsPerMonth: "Requests per month",
  maxBackups: "Backups",
};

const METRIC_LABELS: Record<string, string> = {
  storageBytes: "Storage",
  egressBytes: "Egress",
  searchQueries: "Search queries",
  rateLimited: "Rate-limited requests",
};

/** "purgedRecords" → "Purged records": a name the code uses, read as words. */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "maxStorageBytes" → "Storage", "maxRequestsPerMonth" → "Requests per month". */
export function limitLabel(key: string): string {
  return LIMIT_LABELS[key] ?? humanize(key.replace(/^max(?=[A-Z])/, "").replace(/Bytes$/, ""));
}

/** "storageBytes" → "Storage", "searchQueries" → "Search queries". */
export function metricLabel(key: string): string {
  return METRIC_LABELS[key] ?? humanize(key.replace(/Bytes$/, ""));
}

/** A limit's value in its own unit: bytes, a rate, or a count; "unlimited" at the sentinel. */
export function formatLimit(key: string, value: unknown): string {
  if (isNumber(value) && value >= UNLIMITED) return "unlimited";
  if (key.endsWith("Bytes")) return formatBytes(value);
  if (key === "requestsPerSecond") return formatRate(value);
  if (key === "burst") return isNumber(value) ? `${formatCount(value)} requests` : NOT_A_NUMBER;
  return formatCount(value);
}

/** A usage counter's value in its own unit: bytes for the *Bytes metrics, else a count. */
export function formatMetric(key: string, value: unknown): string {
  return key.endsWith("Bytes") ? formatBytes(value) : formatCount(value);
}
