// The Hono environment shared by every route: bindings and per-request variables.
import type { IdempotencyInput } from "../durable-objects/contract/caller";
import type { AuthPrincipal } from "./auth/principal";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: AuthPrincipal;
    /** A data-plane POST's Idempotency-Key, for the tenant's object (middleware/idempotency.ts). */
    idempotency?: IdempotencyInput;
  };
}
