import { layoutError } from "./errors.js";
import type { Layout } from "./layout.js";
import type { Runner } from "./runners.js";

/** Where the table is: its schema (PostgreSQL) or database (MySQL), if given, and its name. */
export type TablePlace = { schema: string | undefined; name: string };

/** The table's columns, lower case, each mapped to whether it is nullable; empty when the table is missing. */
async function columnsOf(runner: Runner, place: TablePlace): Promise<Map<string, boolean>> {
  const sql = {
    pg: "select column_name as name, is_nullable as n from information_schema.columns where table_schema = coalesce(?::text, current_schema()) and table_name = ?",
    mysql:
      "select column_name as name, is_nullable as n from information_schema.columns where table_schema = coalesce(?, database()) and table_name = ?",
    sqlite: `select name, case when "notnull" = 0 then 'YES' else 'NO' end as n from pragma_table_info(?)`,
  }[runner.flavor];
  const params = runner.flavor === "sqlite" ? [place.name] : [place.schema ?? null, place.name];
  const rows = await runner.all(sql, params);
  return new Map(rows.map((row) => [String(row.name).toLowerCase(), String(row.n) === "YES"]));
}

/** What init() finds: the table ready, missing, in an older version of the layout, or in another layout. */
function stateOf(layout: Layout, found: ReadonlyMap<string, boolean>) {
  if (found.size === 0) return "missing";
  // sessionkit 0.1 tables have the first four own columns only.
  const required = layout.legacy === undefined ? layout.columns.slice(0, 4) : layout.columns;
  if (!required.every((c) => found.has(c))) return "other";
  return layout.upgrade?.(found) ? "upgrade" : "ready";
}

/**
 * init(): creates the table and indexes when missing, upgrades a sessionkit 0.1 table in place (two
 * columns, and a payload that may be NULL), and refuses a table of another layout with one message
 * naming what it found. Idempotent and safe when several processes start at once: PostgreSQL takes
 * a transaction-scoped advisory lock around its DDL; SQLite holds its write lock; MySQL's DDL is
 * not transactional, so a failure is forgiven when the table turns out ready anyway (another
 * process created or upgraded it first).
 */
export async function ensureSchema(runner: Runner, layout: Layout, place: TablePlace, createTable: boolean) {
  const prepare = async (tx: Runner) => {
    if (tx.flavor === "pg") await tx.all("select pg_advisory_xact_lock(hashtext(?)) as locked", ["sessionkit:init"]);
    const found = await columnsOf(tx, place);
    const state = stateOf(layout, found);
    if (state === "ready") return;
    if (state === "other" || !createTable) throw layoutError(layout, place, found, createTable);
    if (tx.flavor === "pg" && place.schema) await tx.run(`create schema if not exists "${place.schema}"`, []);
    const ddl = state === "missing" ? layout.create(layout.table) : (layout.upgrade?.(found) ?? []);
    for (const statement of ddl) await tx.run(statement, []);
  };
  try {
    await runner.transaction(prepare);
  } catch (error) {
    const now = await columnsOf(runner, place).then(
      (found) => stateOf(layout, found),
      () => "unknown",
    );
    if (now !== "ready") throw error;
  }
}
