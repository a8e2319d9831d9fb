// The Hono environment shared by every route: bindings and per-request variables.
import type { AuthPrincipal } from "./auth/principal";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    principal: AuthPrincipal;
  };
}
