// What a job row keeps between its steps; its `kind` says which state it holds.
import type { ExportState } from "./export-job";
import type { ImportState } from "./import-job";
import type { RekeyState } from "./rekey-job";
import type { RestoreState } from "./restore-job";

export type JobState = ExportState | ImportState | RekeyState | RestoreState;
