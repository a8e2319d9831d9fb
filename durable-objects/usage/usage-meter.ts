// Usage counters per month, kept in the tenant's database. Reads do not cost a write each:
// increments gather in memory and are flushed with the next write transaction, after
// FLUSH_AFTER_COUNTS of them, or by an alarm FLUSH_DELAY_MS later, whichever comes first. The
// delay is below the platform's idle-eviction window (70-140 s), so an object normally flushes
// before it is evicted; an abrupt restart can lose at most that minute of read counts. A shorter
// delay made every active tenant write (and schedule an alarm) every few seconds: with thousands
// of tenants that background I/O, not the reads, became the limit (see test/bench/BENCHMARKS.md).
import type { Store } from "../db/store";
import { SqlTally } from "./sql-meter";

export const FLUSH_DELAY_MS = 60_000;
export const FLUSH_AFTER_COUNTS = 1_000;

export const METRICS = [
  "requests",
  "reads",
  "writes",
  "searchQueries",
  "egressBytes",
  "rateLimited",
  "webhookDeliveries",
  "rowsRead",
  "rowsWritten",
] as const;
export type Metric = (typeof METRICS)[number];

export const periodOf = (now: Date) => now.toISOString().slice(0, 7);

let month = { period: "", from: 0, until: 0 };

/** The current period (UTC month): every request counts in it, so it is worked out once a month. */
export function currentPeriod(now = Date.now()): string {
  if (now < month.from || now >= month.until) {
    const d = new Date(now);
    month = {
      period: periodOf(d),
      from: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
      until: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
    };
  }
  return month.period;
}

// The pending maps' keys of the current period, made once a month for every object, not on
// every count.
let keyPeriod = "";
const keys = new Map<Metric, string>();

function pendingKey(metric: Metric, period = currentPeriod()): string {
  if (period !== keyPeriod) {
    keyPeriod = period;
    keys.clear();
  }
  let key = keys.get(metric);
  if (!key) {
    key = `${period}|${metric}`;
    keys.set(metric, key);
  }
  return key;
}

// The flush's statement by the number of counts it writes (at most METRICS × the periods pending).
const upserts = new Map<number, string>();
function upsertOf(rows: number): string {
  let q = upserts.get(rows);
  if (!q) {
    q = `INSERT INTO usage_counters (period, metric, value) VALUES ${Array(rows).fill("(?, ?, ?)").join(", ")}
     ON CONFLICT (period, metric) DO UPDATE SET value = value + excluded.value`;
    upserts.set(rows, q);
  }
  return q;
}

export class UsageMeter {
  private pending = new Map<string, number>();
  private pendingCount = 0;
  /** Stored values of the current period's metrics, loaded once, so quota checks read no rows. */
  private stored = new Map<string, number>();
  private storedPeriod = "";
  /** Rows the object's SQL touched (usage/sql-meter.ts), counted in whenever the meter is read or flushed. */
  readonly sql = new SqlTally();

  private takeRows(): void {
    const { rowsRead, rowsWritten } = this.sql.take();
    if (rowsRead) this.count("rowsRead", rowsRead);
    if (rowsWritten) this.count("rowsWritten", rowsWritten);
  }

  count(metric: Metric, n = 1): void {
    const key = pendingKey(metric);
    this.pending.set(key, (this.pending.get(key) ?? 0) + n);
    this.pendingCount += n;
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** Enough gathered that flushing now costs less than the risk of keeping it in memory. */
  get due(): boolean {
    return this.pendingCount >= FLUSH_AFTER_COUNTS;
  }

  /** What is stored plus what is pending, for one period. */
  read(sql: SqlStorage, period: string): Record<string, number> {
    this.takeRows();
    const out: Record<string, number> = Object.fromEntries(METRICS.map((m) => [m, 0]));
    for (const row of sql.exec<{ metric: string; value: number }>(
      "SELECT metric, value FROM usage_counters WHERE period = ?",
      period,
    )) {
      out[row.metric] = row.value;
    }
    for (const [key, n] of this.pending) {
      const [p, metric] = key.split("|") as [string, string];
      if (p === period) out[metric] = (out[metric] ?? 0) + n;
    }
    return out;
  }

  /** The current period's total of one metric, stored plus pending, without a query once warm. */
  current(sql: SqlStorage, metric: Metric): number {
    const period = currentPeriod();
    if (period !== this.storedPeriod) {
      this.stored = new Map(
        Object.entries(this.read(sql, period)).map(([m, v]) => [m, v - (this.pending.get(`${period}|${m}`) ?? 0)]),
      );
      this.storedPeriod = period;
    }
    return (this.stored.get(metric) ?? 0) + (this.pending.get(pendingKey(metric, period)) ?? 0);
  }

  /** Writes pending increments; call inside a transaction that writes anyway, or from the alarm. */
  flush(sql: SqlStorage): void {
    this.takeRows();
    if (this.pending.size === 0) return;
    // Every pending count in one statement (a write has four: requests, writes, rows read and
    // written): each statement costs the runtime its own round of work, whatever it does.
    const bindings: SqlStorageValue[] = [];
    for (const [key, n] of this.pending) {
      const [p, m] = key.split("|") as [string, string];
      if (p === this.storedPeriod) this.stored.set(m, (this.stored.get(m) ?? 0) + n);
      bindings.push(p, m, n);
    }
    sql.exec(upsertOf(this.pending.size), ...bindings);
    this.pending.clear();
    this.pendingCount = 0;
  }
}

/** Stored counters of every period, newest first (the billing rollup reads closed ones). */
export function periods(store: Store): { period: string; metrics: Record<string, number> }[] {
  const byPeriod = new Map<string, Record<string, number>>();
  for (const row of store.sql.exec<{ period: string; metric: string; value: number }>(
    "SELECT period, metric, value FROM usage_counters WHERE period <> 'all' ORDER BY period DESC",
  )) {
    const m = byPeriod.get(row.period) ?? {};
    m[row.metric] = row.value;
    byPeriod.set(row.period, m);
  }
  return [...byPeriod].map(([period, metrics]) => ({ period, metrics }));
}
