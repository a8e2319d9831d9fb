// Worker entry: the HTTP app, the cron handler, and the Durable Object class wrangler binds.
import { createApp } from "./app";

export { TenantDatabase } from "../durable-objects/tenant-database";

const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
