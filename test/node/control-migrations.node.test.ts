// The control plane's schema (src/control/schema.ts) and its D1 migrations (migrations/*.sql)
// cannot drift: drizzle-kit finds nothing to generate, and the migrations applied to an empty
// SQLite build the very tables, columns, keys, checks and indexes that schema.ts declares.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import config from "../../src/control/drizzle.config";

const root = fileURLToPath(new URL("../../", import.meta.url));
const migrationsDir = join(root, config.out ?? "migrations");
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

function sqlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

/** `drizzle-kit generate` with the control config, writing into `out` instead of migrations/. */
function generateInto(out: string) {
  const res = spawnSync(
    process.execPath,
    [
      join(root, "node_modules/drizzle-kit/bin.cjs"),
      "generate",
      "--dialect",
      config.dialect,
      "--schema",
      String(config.schema),
      // drizzle-kit reads its snapshots at "./" + out, so out must be relative to the root.
      "--out",
      relative(root, out),
    ],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 },
  );
  expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
  return res;
}

function apply(files: string[]): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  for (const file of files) db.exec(readFileSync(file, "utf8"));
  return db;
}

/** The bodies of the CHECK constraints in a CREATE TABLE, compared without spacing or quotes. */
function checks(sql: string): string[] {
  const found: string[] = [];
  for (const m of sql.matchAll(/\bCHECK\s*\(/gi)) {
    let depth = 1;
    let i = (m.index ?? 0) + m[0].length;
    const start = i;
    for (; i < sql.length && depth > 0; i++) depth += sql[i] === "(" ? 1 : sql[i] === ")" ? -1 : 0;
    found.push(
      sql
        .slice(start, i - 1)
        .replace(/[`"]/g, "")
        .replace(/\s+/g, "")
        .toLowerCase(),
    );
  }
  return found.sort();
}

type Row = Record<string, string | number | null>;

/** What a database's tables are, in a form that does not depend on how the SQL was written. */
function describeSchema(db: DatabaseSync) {
  const tables = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all() as { name: string; sql: string }[];
  return Object.fromEntries(
    tables.map(({ name, sql }) => {
      const columns = (db.prepare(`PRAGMA table_info("${name}")`).all() as Row[])
        .map((c) => ({
          name: c.name,
          type: String(c.type).toLowerCase(),
          // drizzle always writes NOT NULL on a primary key; the hand-written SQL leaves it implied.
          notnull: Number(c.notnull) === 1 || Number(c.pk) > 0,
          default: c.dflt_value,
          pk: c.pk,
        }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name)));
      const indexes = (db.prepare(`PRAGMA index_list("${name}")`).all() as Row[])
        .map((ix) => ({
          name: ix.name,
          unique: ix.unique,
          origin: ix.origin,
          partial: ix.partial,
          columns: (db.prepare(`PRAGMA index_info("${ix.name}")`).all() as Row[]).map((c) => c.name),
        }))
        .sort((a, b) => String(a.name).localeCompare(String(b.name)));
      const foreignKeys = (db.prepare(`PRAGMA foreign_key_list("${name}")`).all() as Row[]).map((fk) => ({
        table: fk.table,
        from: fk.from,
        to: fk.to,
        onUpdate: fk.on_update,
        onDelete: fk.on_delete,
      }));
      const autoincrement = /\bAUTOINCREMENT\b/i.test(sql);
      return [name, { columns, indexes, foreignKeys, checks: checks(sql), autoincrement }];
    }),
  );
}

describe("control plane schema and D1 migrations", () => {
  it("schema.ts has no change that migrations/ lacks (drizzle-kit generates nothing)", () => {
    const copy = mkdtempSync(join(tmpdir(), "silo-control-migrations-"));
    temps.push(copy);
    cpSync(migrationsDir, copy, { recursive: true });
    const res = generateInto(copy);
    const added = sqlFiles(copy).filter((f) => !sqlFiles(migrationsDir).includes(f));
    const sql = added.map((f) => `-- ${f}\n${readFileSync(join(copy, f), "utf8")}`).join("\n");
    expect(
      added,
      `schema.ts changed without a migration; run npm run db:generate:control. It would add:\n${sql}\n${res.stdout}`,
    ).toEqual([]);
  });

  it("migrations/*.sql build exactly the tables schema.ts declares", () => {
    const fresh = mkdtempSync(join(tmpdir(), "silo-control-schema-"));
    temps.push(fresh);
    generateInto(fresh);
    const fromSchema = describeSchema(apply(sqlFiles(fresh).map((f) => join(fresh, f))));
    const fromMigrations = describeSchema(apply(sqlFiles(migrationsDir).map((f) => join(migrationsDir, f))));
    expect(Object.keys(fromSchema)).toEqual([
      "admin_audit",
      "idempotency_keys",
      "plans",
      "sweep_runs",
      "tenant_errors",
      "tenants",
      "usage_rollups",
    ]);
    expect(fromMigrations).toEqual(fromSchema);
  });

  it("the next generated migration is numbered after the hand-written ones", () => {
    const journal = JSON.parse(readFileSync(join(migrationsDir, "meta/_journal.json"), "utf8")) as {
      entries: { idx: number; tag: string }[];
    };
    // drizzle-kit numbers a new file from the journal's last idx; wrangler applies files by name.
    expect(journal.entries.map((e) => `${e.tag}.sql`)).toEqual(sqlFiles(migrationsDir));
    expect(journal.entries.map((e) => e.idx)).toEqual(sqlFiles(migrationsDir).map((f) => Number(f.slice(0, 4))));
  });
});
