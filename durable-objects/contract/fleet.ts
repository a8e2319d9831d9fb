// What a tenant's object reports to the control plane about itself: the tenant-schema migration
// it is on (and why the last attempt failed, if it did), the configuration revision it applied,
// and its usage now. The migration tags come from the bundled drizzle journal, which the Worker
// and the object share (they are deployed together).
import journal from "../drizzle/meta/_journal.json";

export interface FleetReport {
  /** The drizzle tag of the newest applied migration, e.g. "0003_export_jobs". */
  schema: string;
  /** Why the last migration attempt failed; null when the schema is current. */
  migrationError: string | null;
  /** The configuration revision the object holds. */
  applied: number;
  /** Usage gauges and this period's counters (records, storageBytes, members, requests, …). */
  usage: Record<string, number>;
}

const entries = journal.entries;

/** The tag of the newest bundled tenant migration: what every tenant should report. */
export const LATEST_SCHEMA: string = entries.reduce((a, b) => (b.when > a.when ? b : a)).tag;

/** The tag of the migration drizzle recorded with this `created_at` (its journal `when`). */
export function schemaTagAt(when: number | null): string {
  if (when === null) return "none";
  return entries.find((e) => e.when === when)?.tag ?? `unknown-${when}`;
}
