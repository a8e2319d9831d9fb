// The object's report to the control plane (the migrate, reconcile and billing sweeps read it):
// the schema it is on, why its last migration failed, the configuration revision it holds, and
// its usage now, so the registry can show the fleet without waking every object on each look.
import type { FleetReport } from "../contract/fleet";
import type { Store } from "../db/store";
import type { UsageMeter } from "../usage/usage-meter";
import { usageNow } from "../usage/usage-report";
import { appliedSchema } from "./tenant-lifecycle";

export function fleetReport(store: Store, migrationError: string | null, meter: UsageMeter): FleetReport {
  return {
    schema: appliedSchema(store.sql),
    migrationError,
    applied: store.config.revision,
    usage: usageNow(store, meter),
  };
}
