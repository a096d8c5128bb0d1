import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceGate } from "@sessionkit/conformance";
import BetterSqlite3 from "better-sqlite3";
import knexFactory, { type Knex } from "knex";
import mysql from "mysql2";
import pg from "pg";

export const PG_URL = process.env.SESSIONKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** A knex on a test server. Failing fast (short acquire timeout) keeps broken-database tests short. */
const serverKnex = (client: string, connection: string, extra: Partial<Knex.Config>): Knex =>
  knexFactory({ client, connection, pool: { min: 0, max: 5 }, acquireConnectionTimeout: 5000, ...extra });

export const pgKnex = (extra: Partial<Knex.Config> = {}) => serverKnex("pg", PG_URL, extra);
export const mysqlKnex = (extra: Partial<Knex.Config> = {}) => serverKnex("mysql2", MYSQL_URL, extra);

export function sqliteKnex(filename: string): Knex {
  return knexFactory({ client: "better-sqlite3", connection: { filename }, useNullAsDefault: true });
}

/** A private directory for SQLite files, removed by the returned function. */
export function tempDir(label: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sessionkit-knex-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function probe(make: () => Knex): Promise<void> {
  const knex = make();
  try {
    await knex.raw("select 1");
  } finally {
    await knex.destroy();
  }
}

/** false when PostgreSQL answers, else a loud skip reason (a failure under SESSIONKIT_REQUIRE_SERVICES=1). */
export const pgGate = () => serviceGate("PostgreSQL", () => probe(pgKnex));
export const mysqlGate = () => serviceGate("MariaDB/MySQL", () => probe(mysqlKnex));

/** Drops tables a test file created, so reruns start clean. */
export async function dropTables(knex: Knex, ...tables: string[]): Promise<void> {
  for (const table of tables) await knex.schema.dropTableIfExists(table);
}

/** The user's own pg pool. */
export function pgPool(extra: pg.PoolConfig = {}): pg.Pool {
  return new pg.Pool({ connectionString: PG_URL, max: 5, ...extra });
}

/** The user's own mysql2 pool (callback API; `.promise()` gives the promise API over the same pool). */
export function mysqlPool(extra: mysql.PoolOptions = {}): mysql.Pool {
  return mysql.createPool({ uri: MYSQL_URL, connectionLimit: 5, ...extra });
}

export function sqliteDb(filename: string): BetterSqlite3.Database {
  return new BetterSqlite3(filename);
}
