// The Worker's only way to a tenant's Durable Object: a stub chosen by tenant id, and the
// conversion of RPC failure values into API errors.
import type { Result } from "../durable-objects/rpc-contract";
import { ApiError } from "./errors";

export function tenantStub(env: Env, tenantId: string) {
  return env.TENANT_DB.get(env.TENANT_DB.idFromName(tenantId));
}

export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw ApiError.from(result);
}
