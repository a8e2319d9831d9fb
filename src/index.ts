// Worker entry: the HTTP app, the cron handler, and the Durable Object class wrangler binds.
import { createApp } from "./app";
import { runCron } from "./sweeps/cron";

export { TenantDatabase } from "../durable-objects/tenant-database";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, _ctx) {
    await runCron(env, controller.cron);
  },
} satisfies ExportedHandler<Env>;
