// `silo changes <tenant>`: the tenant's change log (GET /v1/changes), read as a platform admin
// acting inside the tenant (X-Silo-Tenant, and X-Silo-Reason: audited in the tenant's chain).
// Prints the log to its end; with --follow keeps polling for new events until interrupted.
import { formatDateTime } from "../portal/format.ts";

const pad = (value, width) => String(value ?? "").padEnd(width);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function line(e) {
  const what = e.collection ? `${e.collection}${e.id ? `/${e.id}` : ""}` : (e.id ?? "");
  const version = e.version === null || e.version === undefined ? "" : ` v${e.version}`;
  return `${pad(e.seq, 8)}${pad(formatDateTime(e.at), 26)}${pad(e.type, 20)}${pad(what + version, 40)}${e.actor}`;
}

/** `silo changes <tenant> [--since N] [--collection C] [--follow] [--reason TEXT]`. */
export async function changes(api, [tenant], values, usageError) {
  if (!tenant) throw usageError("changes needs a tenant id.");
  const headers = {
    "x-silo-tenant": tenant,
    "x-silo-reason": values.reason ?? "operator CLI: silo changes",
  };
  let since = values.since ?? "0";
  if (!values.json) console.log(`${pad("SEQ", 8)}${pad("AT", 26)}${pad("TYPE", 20)}${pad("WHAT", 40)}ACTOR`);
  for (;;) {
    const q = new URLSearchParams({ since, limit: "1000" });
    if (values.collection) q.set("collection", values.collection);
    const page = await api.json("GET", `/v1/changes?${q}`, undefined, headers);
    for (const e of page.items) console.log(values.json ? JSON.stringify(e) : line(e));
    if (page.nextCursor) {
      since = page.nextCursor;
      continue;
    }
    if (page.items.length) since = String(page.items.at(-1).seq);
    if (!values.follow) return;
    await sleep(1000);
  }
}
