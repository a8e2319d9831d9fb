// Secrets and optional settings that `wrangler types` cannot see (they live in .dev.vars or
// `wrangler secret put`, not wrangler.toml).
interface SiloSecrets {
  AUTH_HS256_SECRET?: string;
  AUTH_JWKS?: string;
  AUTH_JWKS_URL?: string;
  AUTH_ISSUER?: string;
  AUTH_AUDIENCE?: string;
  /** Claim names holding the roles, first present wins (default "roles"); they only narrow. */
  ROLES_CLAIM?: string;
  /** Cognito's token_use: "id", "access" or "any"; unset checks none. */
  AUTH_TOKEN_USE?: string;
  MASTER_KEY?: string;
  /** The previous master key while tenants are re-wrapped under a new MASTER_KEY. */
  MASTER_KEY_PREVIOUS?: string;
  /** Rows per export chunk (default 1000); tests use a small value to exercise chunking. */
  EXPORT_CHUNK_ROWS?: string;
  /** "enabled" in production to place tenants in their Durable Object jurisdiction. */
  DO_JURISDICTIONS?: string;
  /** "true" lets webhooks deliver to http(s)://localhost and 127.0.0.1 (local development only). */
  ALLOW_LOCAL_WEBHOOKS?: string;
  /** "off" silences the per-request log line (the test suite sets it). */
  LOG_REQUESTS?: string;
}

interface Env extends SiloSecrets {}

declare namespace Cloudflare {
  interface Env extends SiloSecrets {}
}
