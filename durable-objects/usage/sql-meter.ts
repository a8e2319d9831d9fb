// Rows read and written, as the platform bills them: every statement the tenant's object runs
// goes through one SqlStorage (its drizzle handle too), whose cursors report the rows they
// touched (SqlStorageCursor.rowsRead / rowsWritten). The cursors are kept until the call that ran
// them ends (the gate settles them then), so counting costs a push per statement and no cursor
// outlives its request: kept for minutes, they were promoted out of V8's young generation and
// grew the old one until a mark-compact (a fixed-rate tail, BENCHMARKS.md).

/** Cursors kept at most before their counts are settled (a cursor still open then counts what it read so far). */
const SETTLE_AFTER = 256;

export class SqlTally {
  // biome-ignore lint/suspicious/noExplicitAny: cursors of every row type
  private readonly cursors: SqlStorageCursor<any>[] = [];
  private rowsRead = 0;
  private rowsWritten = 0;

  // biome-ignore lint/suspicious/noExplicitAny: cursors of every row type
  track(cursor: SqlStorageCursor<any>): void {
    this.cursors.push(cursor);
    if (this.cursors.length >= SETTLE_AFTER) this.settle();
  }

  /** The rows touched since the last take. */
  take(): { rowsRead: number; rowsWritten: number } {
    this.settle();
    const taken = { rowsRead: this.rowsRead, rowsWritten: this.rowsWritten };
    this.rowsRead = 0;
    this.rowsWritten = 0;
    return taken;
  }

  /** Adds up the cursors' rows and lets them go. */
  settle(): void {
    for (const c of this.cursors) {
      this.rowsRead += c.rowsRead;
      this.rowsWritten += c.rowsWritten;
    }
    this.cursors.length = 0;
  }
}

/** The object's storage with its SQL counted; everything else passes through unchanged. */
export function meteredStorage(storage: DurableObjectStorage, tally: SqlTally): DurableObjectStorage {
  const raw = storage.sql;
  const sql: SqlStorage = {
    exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) {
      const cursor = raw.exec<T>(query, ...bindings);
      tally.track(cursor);
      return cursor;
    },
    get databaseSize() {
      return raw.databaseSize;
    },
    Cursor: raw.Cursor,
    Statement: raw.Statement,
  };
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(storage, {
    get(target, key) {
      if (key === "sql") return sql;
      const cached = bound.get(key);
      if (cached !== undefined) return cached;
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      const fn = value.bind(target);
      bound.set(key, fn);
      return fn;
    },
  });
}
