// Applies the control-plane D1 migrations before the tests (idempotent).
import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.CONTROL_DB, env.TEST_MIGRATIONS);
