// Tests run inside workerd with the project's real bindings (D1, R2, Durable Objects) through
// @cloudflare/vitest-plugin, the successor of @cloudflare/vitest-pool-workers.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  // A throwaway RSA key: its public half is the JWKS the Worker trusts, the private half mints
  // test tokens, so the asymmetric path is exercised without any network.
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "test-rsa", alg: "RS256", use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid: "test-rsa", alg: "RS256" };
  return {
    test: {
      projects: [
        {
          // Everything that touches the Worker runs inside workerd with real bindings.
          extends: true,
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  TEST_PRIVATE_JWK: JSON.stringify(privateJwk),
                  AUTH_JWKS: JSON.stringify({ keys: [publicJwk] }),
                  AUTH_HS256_SECRET: "test-secret-for-hs256-tokens-0123456789",
                  AUTH_ISSUER: "silo-test",
                  AUTH_AUDIENCE: "silo",
                  MASTER_KEY: btoa(String.fromCharCode(...new Uint8Array(32).map((_, i) => i + 1))),
                  TENANT_GRACE_DAYS: "30",
                  EXPORT_CHUNK_ROWS: "3",
                  LOG_REQUESTS: "off",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            setupFiles: ["./test/setup.ts"],
            include: ["test/*.test.ts"],
            testTimeout: 30_000,
          },
        },
        {
          // Node-only checks (tools that cannot run in workerd, e.g. schema validators; the soak's
          // short form, which kills and restarts a runtime of its own).
          test: { name: "node", environment: "node", include: ["test/node/*.test.ts"], testTimeout: 30_000 },
        },
      ],
    },
  };
});
