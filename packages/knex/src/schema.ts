import type { Knex } from "knex";
import type { Dialect } from "./dialect.js";
import type { ResolvedOptions } from "./options.js";
import { qualifiedTable, quote, type SqlDialect } from "./sql.js";

/**
 * Index names. Legacy tables use knex's default names, which is what connect-session-knex's
 * table already has, so init() on its table creates nothing twice.
 */
function indexName(options: ResolvedOptions, column: string, purpose: string): string {
  return options.legacy ? `${options.tableName}_${column}_index` : `${options.tableName}_${purpose}_idx`;
}

/** DDL of sessionkit's own layout. Payload columns hold at least 16 MB everywhere (MySQL TEXT holds 64 KB). */
function nativeDdl(dialect: SqlDialect, options: ResolvedOptions): string[] {
  const q = (name: string) => quote(dialect, name);
  const table = qualifiedTable(dialect, options);
  const [sid, data, expires, owner] = [
    options.sidColumn,
    options.dataColumn,
    options.expiresColumn,
    options.ownerColumn ?? "owner",
  ].map(q);
  const expiresIdx = q(indexName(options, options.expiresColumn, "expires"));
  const ownerIdx = q(indexName(options, options.ownerColumn ?? "owner", "owner"));
  switch (dialect) {
    case "pg":
      return [
        `create table if not exists ${table} (${sid} text primary key, ${data} text not null, ${expires} bigint not null, ${owner} text)`,
        `create index if not exists ${expiresIdx} on ${table} (${expires})`,
        `create index if not exists ${ownerIdx} on ${table} (${owner}) where ${owner} is not null`,
      ];
    case "mysql":
      // Ids and owners are compared byte for byte: the default collations ignore case and
      // trailing spaces, which would let "abc" and "ABC" share a session.
      return [
        `create table if not exists ${table} (${sid} varbinary(1020) not null primary key, ${data} mediumtext character set utf8mb4 not null, ${expires} bigint not null, ${owner} varbinary(1020) null, key ${expiresIdx} (${expires}), key ${ownerIdx} (${owner})) engine=InnoDB`,
      ];
    case "sqlite":
      return [
        `create table if not exists ${table} (${sid} text not null primary key, ${data} text not null, ${expires} integer not null, ${owner} text)`,
        `create index if not exists ${expiresIdx} on ${table} (${expires})`,
        `create index if not exists ${ownerIdx} on ${table} (${owner}) where ${owner} is not null`,
      ];
  }
}

/** DDL of connect-session-knex 5's table, for a legacy table that does not exist yet. */
function legacyDdl(dialect: SqlDialect, options: ResolvedOptions): string[] {
  const q = (name: string) => quote(dialect, name);
  const table = qualifiedTable(dialect, options);
  const [sid, data, expires] = [options.sidColumn, options.dataColumn, options.expiresColumn].map(q);
  const expiresIdx = q(indexName(options, options.expiresColumn, "expires"));
  switch (dialect) {
    case "pg":
      return [
        `create table if not exists ${table} (${sid} varchar(255) primary key, ${data} json not null, ${expires} timestamptz not null)`,
        `create index if not exists ${expiresIdx} on ${table} (${expires})`,
      ];
    case "mysql":
      return [
        `create table if not exists ${table} (${sid} varchar(255) not null primary key, ${data} json not null, ${expires} datetime not null, key ${expiresIdx} (${expires}))`,
      ];
    case "sqlite":
      return [
        `create table if not exists ${table} (${sid} varchar(255) not null primary key, ${data} json not null, ${expires} datetime not null)`,
        `create index if not exists ${expiresIdx} on ${table} (${expires})`,
      ];
  }
}

async function createWithSql(knex: Knex, dialect: SqlDialect, options: ResolvedOptions): Promise<void> {
  const ddl = options.legacy ? legacyDdl(dialect, options) : nativeDdl(dialect, options);
  if (dialect !== "pg") {
    // MySQL's CREATE TABLE IF NOT EXISTS (indexes inline) and SQLite's single-writer lock make
    // concurrent first starts safe as they are.
    for (const statement of ddl) await knex.raw(statement);
    return;
  }
  // PostgreSQL's IF NOT EXISTS is not safe against a concurrent CREATE of the same table
  // (duplicate key in pg_type), so first starts take turns on a transaction-scoped advisory lock.
  await knex.transaction(async (trx) => {
    await trx.raw("select pg_advisory_xact_lock(hashtext('sessionkit:init'))");
    if (options.schemaName) await trx.raw(`create schema if not exists ${quote("pg", options.schemaName)}`);
    for (const statement of ddl) await trx.raw(statement);
  });
}

/** Other dialects: knex's schema builder; a concurrent creator winning the race is not an error. */
async function createWithBuilder(knex: Knex, options: ResolvedOptions): Promise<void> {
  const schema = () => (options.schemaName ? knex.schema.withSchema(options.schemaName) : knex.schema);
  if (await schema().hasTable(options.tableName)) return;
  try {
    await schema().createTable(options.tableName, (table) => {
      table.string(options.sidColumn, 255).primary();
      if (options.legacy) {
        table.text(options.dataColumn).notNullable();
        table
          .timestamp(options.expiresColumn)
          .notNullable()
          .index(indexName(options, options.expiresColumn, "expires"));
        return;
      }
      table.text(options.dataColumn, "mediumtext").notNullable();
      table
        .bigInteger(options.expiresColumn)
        .notNullable()
        .index(indexName(options, options.expiresColumn, "expires"));
      const owner = options.ownerColumn ?? "owner";
      table
        .string(owner, 255)
        .nullable()
        .index(indexName(options, owner, "owner"));
    });
  } catch (error) {
    if (!(await schema().hasTable(options.tableName))) throw error;
  }
}

/** A query that fails unless every column the adapter uses exists. */
function columnCheck(knex: Knex, options: ResolvedOptions) {
  const columns = [options.sidColumn, options.dataColumn, options.expiresColumn];
  if (options.ownerColumn) columns.push(options.ownerColumn);
  const builder = options.schemaName ? knex.withSchema(options.schemaName) : knex.queryBuilder();
  return builder.select(columns).from(options.tableName).whereRaw("1 = 0");
}

/**
 * Creates the table and indexes when `createTable` is on (idempotent), then checks the table
 * has the expected columns so a layout mismatch (say, a connect-session-knex table opened
 * without `legacy`) fails at start with a clear message instead of on the first request.
 */
export async function ensureSchema(knex: Knex, dialect: Dialect, options: ResolvedOptions): Promise<void> {
  if (options.createTable) {
    if (dialect === "generic") await createWithBuilder(knex, options);
    else await createWithSql(knex, dialect, options);
  }
  try {
    await columnCheck(knex, options);
  } catch (error) {
    const columns = [options.sidColumn, options.dataColumn, options.expiresColumn, options.ownerColumn].filter(Boolean);
    const hint = options.legacy
      ? ""
      : ' (a connect-session-knex table needs the option legacy: "connect-session-knex")';
    throw new Error(
      `sessionkit: table "${options.tableName}" could not be read with the columns ${columns.join(", ")}: ${error instanceof Error ? error.message : String(error)}${hint}`,
      { cause: error },
    );
  }
}
