// What the tenant's data modules work with: its SQLite storage, the drizzle handle for system
// tables, its configuration, and a cache of collection definitions.
import type { DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import type { CollectionDef } from "../collections/collection-schema";
import type { TenantConfig } from "../contract/config";
import type { Failure } from "../contract/result";
import type { KeyRing } from "../crypto/field-cipher";

/** Drizzle without the relational schema: Silo never uses db.query, and it costs heap per object. */
export type Db = DrizzleSqliteDODatabase & { $client: DurableObjectStorage };

export interface Store {
  storage: DurableObjectStorage;
  sql: SqlStorage;
  db: Db;
  config: TenantConfig;
  /** Definitions by name; reset whenever a collection changes (after the change commits). */
  defs: Map<string, CollectionDef>;
  /** The tenant's data keys, unwrapped on first use. */
  cipher: () => KeyRing;
  /** A restore is pending or running: the gate answers 503 to every data-plane call. */
  restoring: boolean;
  /** Holds a configuration the object stored itself (a restore's settings) from the next call on. */
  adopt: (config: TenantConfig) => void;
}

/** Thrown inside a transactionSync to roll it back with an expected failure. */
export class Abort extends Error {
  constructor(readonly failure: Failure) {
    super(failure.detail);
  }
}

/** Runs `fn` in one transaction; an Abort rolls back and becomes the returned failure. */
export function inTransaction<T>(store: Store, fn: () => T): T | Failure {
  try {
    return store.storage.transactionSync(fn);
  } catch (err) {
    if (err instanceof Abort) return err.failure;
    throw err;
  }
}

export function isFailure(v: unknown): v is Failure {
  return typeof v === "object" && v !== null && (v as Failure).ok === false && "code" in v;
}
