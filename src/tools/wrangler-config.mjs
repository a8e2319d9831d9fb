// Reads the few values the deploy needs from wrangler.toml and rewrites the D1 database id in
// place. Line-based on purpose: the file keeps its comments and layout byte for byte.
import { readFileSync, writeFileSync } from "node:fs";

/** The id wrangler.toml carries until the first deploy writes the real one. */
export const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";

const ID_LINE = /^database_id = "([^"]*)"$/gm;

function value(text, key) {
  const m = new RegExp(`^${key} = "([^"]*)"$`, "m").exec(text);
  return m ? m[1] : undefined;
}

/** The keys set under [vars]: a secret set there as a plain variable counts as present. */
function vars(text) {
  const at = text.search(/^\[vars\]$/m);
  if (at < 0) return [];
  const body = text.slice(at).split("\n").slice(1);
  const end = body.findIndex((line) => line.startsWith("["));
  return (end < 0 ? body : body.slice(0, end))
    .map((line) => /^([A-Z0-9_]+)\s*=/.exec(line)?.[1])
    .filter((key) => key !== undefined);
}

export function readWranglerConfig(path) {
  const text = readFileSync(path, "utf8");
  const ids = [...text.matchAll(ID_LINE)];
  if (ids.length !== 1) throw new Error(`${path}: expected one database_id line, found ${ids.length}`);
  return {
    worker: value(text, "name"),
    accountId: value(text, "account_id"),
    database: value(text, "database_name"),
    databaseId: ids[0][1],
    migrationsDir: value(text, "migrations_dir") ?? "migrations",
    bucket: value(text, "bucket_name"),
    vars: vars(text),
  };
}

/** Rewrites the one database_id line; true when the file changed. */
export function writeDatabaseId(path, id) {
  const text = readFileSync(path, "utf8");
  const next = text.replace(ID_LINE, `database_id = "${id}"`);
  if (next === text) return false;
  writeFileSync(path, next);
  return true;
}
