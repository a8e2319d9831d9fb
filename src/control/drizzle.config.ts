// The control plane's D1 migrations, generated from schema.ts into migrations/ (applied by wrangler,
// which reads only the .sql files; meta/ is drizzle-kit's record of the schema they build).
// 0001-0004 were written by hand: meta/ starts from a snapshot of the schema they build.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/control/schema.ts",
  out: "./migrations",
});
