// Secrets and optional settings that `wrangler types` cannot see (they live in .dev.vars or
// `wrangler secret put`, not wrangler.toml).
interface Env {
  AUTH_HS256_SECRET?: string;
  AUTH_JWKS?: string;
  AUTH_JWKS_URL?: string;
  AUTH_ISSUER?: string;
  AUTH_AUDIENCE?: string;
  MASTER_KEY?: string;
}
