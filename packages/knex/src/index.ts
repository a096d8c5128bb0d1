import { configError, readOptions, rules, type SessionBackend } from "@sessionkit/core/kit";
import { SqlBackend } from "./backend.js";
import { ownLayout, quote } from "./layout.js";
import { LEGACY, type LegacyName, legacyLayout, legacyTable } from "./legacy.js";
import {
  type DriverHandle,
  type Flavor,
  type KnexLike,
  knexRunner,
  mysql2Runner,
  pgRunner,
  type Runner,
  sqliteRunner,
} from "./runners.js";

export type { LegacyName } from "./legacy.js";
export type { DriverHandle, KnexLike, Mysql2Pool, PgPool, SqliteDatabase } from "./runners.js";

/** Options of `knexAdapter`. Every option is checked at construction (ERR_SESSION_CONFIG, naming it). */
export interface KnexAdapterOptions {
  /**
   * The table. Letters, digits and `_`, not starting with a digit, at most 50 characters.
   * Default: `"sessions"` (`"session"` with `legacy: "connect-pg-simple"`).
   */
  tableName?: string;
  /** The table's PostgreSQL schema (created by `init()` when missing) or MySQL database. Not on SQLite. Default: none. */
  schemaName?: string;
  /**
   * Whether `init()` may create the table (and its indexes) when missing and upgrade a sessionkit
   * 0.1 table in place. With `false` it only checks the table. Default: `true`.
   */
  createTable?: boolean;
  /**
   * Read and write another store's table in place, in its layout, so both stores share the
   * sessions: `"connect-session-knex"` (5.x), `"connect-pg-simple"` (10.x, PostgreSQL) or
   * `"express-mysql-session"` (3.x, MySQL/MariaDB). No owners, creation times or tombstones there.
   * Default: none (sessionkit's own layout).
   */
  legacy?: LegacyName;
  /**
   * `legacy: "express-mysql-session"` only: let `init()` add an index on `expires`, which that
   * table lacks (without it, its cleanup and ours read the whole table). MariaDB. Default: `false`.
   */
  indexExpires?: boolean;
  /**
   * With a `{ pg: pool }` handle: run statements as named prepared statements, parsed once per
   * connection. Turn off behind a pooler that can't carry them (PgBouncer in transaction mode
   * before 1.21). Default: `true`.
   */
  preparedStatements?: boolean;
}

const NAME = {
  pattern: /^[A-Za-z_][A-Za-z0-9_]{0,49}$/,
  shape: "letters, digits and _ (at most 50, not starting with a digit)",
};

/** Which SQL a knex client speaks, from the dialect it declares (`knex.client.dialect`, `driverName`). */
function flavorOf(knex: KnexLike): Flavor {
  const { dialect, driverName } = knex.client as { dialect?: string; driverName?: string };
  if (dialect === "postgresql") return "pg";
  if (dialect === "mysql") return "mysql";
  // knex's sqlite3 client returns no row counts from knex.raw, which upsert and GC need.
  if (dialect === "sqlite3" && driverName !== "sqlite3") return "sqlite";
  throw configError(
    "knex",
    `uses the client "${driverName ?? dialect}", which sessionkit has no SQL for: use pg, mysql2 (or mysql) or better-sqlite3`,
  );
}

function runnerOf(client: unknown, preparedStatements: boolean): Runner {
  const knex = client as KnexLike;
  if (typeof client === "function" && typeof knex.raw === "function" && "client" in client) {
    const flavor = flavorOf(knex);
    return knexRunner(knex, flavor, `knex:${flavor}`);
  }
  const handle = (client ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const keys = typeof client === "object" ? Object.keys(handle) : [];
  const [key] = keys;
  const method = { pg: "query", mysql2: "execute", betterSqlite3: "prepare" }[key as string];
  if (keys.length !== 1 || !method || typeof handle[key as string]?.[method] !== "function") {
    throw configError(
      "knex",
      "must be a knex instance or one driver handle: { pg: pg.Pool }, { mysql2: mysql2 pool } or { betterSqlite3: Database }",
    );
  }
  const driver = client as DriverHandle;
  if ("pg" in driver) return pgRunner(driver.pg, preparedStatements);
  if ("mysql2" in driver) return mysql2Runner(driver.mysql2);
  return sqliteRunner(driver.betterSqlite3);
}

/**
 * A sessionkit backend storing sessions in one table of PostgreSQL, MySQL/MariaDB or SQLite.
 *
 * @param client a knex instance (`knex.raw` runs every statement, on knex's pool), or your own
 *   driver handle for the shortest path: `{ pg: pool }` (a `pg.Pool`), `{ mysql2: pool }` (a
 *   mysql2 pool, callback or promise API; statements go through `execute`) or
 *   `{ betterSqlite3: db }` (a better-sqlite3 `Database`). It stays yours: never closed.
 * @throws SessionStoreError ERR_SESSION_CONFIG for a bad client or option, naming it.
 */
export function knexAdapter(client: KnexLike | DriverHandle, options?: KnexAdapterOptions): SessionBackend {
  const o = readOptions("knexAdapter", options, {
    tableName: rules.string(undefined, NAME),
    schemaName: rules.string(undefined, NAME),
    createTable: rules.boolean(true),
    legacy: rules.oneOf(LEGACY, undefined),
    indexExpires: rules.boolean(false),
    preparedStatements: rules.boolean(true),
  });
  const runner = runnerOf(client, o.preparedStatements);
  const { flavor } = runner;
  if (o.schemaName && flavor === "sqlite") throw configError("schemaName", "is not supported on SQLite");
  if (o.indexExpires && o.legacy !== "express-mysql-session") {
    throw configError("indexExpires", 'is for legacy: "express-mysql-session" only');
  }
  const tableName = o.tableName ?? (o.legacy ? legacyTable(o.legacy) : "sessions");
  const table = `${o.schemaName ? `${quote(flavor, o.schemaName)}.` : ""}${quote(flavor, tableName)}`;
  const layout = o.legacy
    ? legacyLayout(o.legacy, flavor, table, tableName, { indexExpires: o.indexExpires })
    : ownLayout(flavor, table, tableName);
  return new SqlBackend(runner, layout, { schema: o.schemaName, name: tableName }, o.createTable, GC[flavor]);
}

/**
 * How each dialect's GC batches start and how long each should take. PostgreSQL and MySQL are over
 * the network: a batch blocks no request of this process, and each one pays a round trip, a wait
 * for a pooled connection behind the live requests, and a commit, so both aim at 200 ms; their
 * batches lock expired rows only. On both, each batch also starts again at the low end of the
 * expiry index and walks over the entries earlier batches deleted: PostgreSQL visits each of
 * those rows once more (until the scan marks them dead), InnoDB until its purge catches up,
 * which costs more the more batches came before (measured with `bench/gc.mjs`). On PostgreSQL,
 * against 50 ms batches in the same runs (a loaded machine): a 100,000-row backlog 1.1-1.7×
 * faster (`bench/gc.mjs`), a 20,000-row one beside live traffic about 1.1× (the bench's gc
 * section), live p99 no worse.
 * SQLite runs in this process and blocks it for the whole batch, so its batches aim at 5 ms, half
 * the store's default, from a first batch of 250 rows, about what 5 ms deletes where expired rows
 * lie among live ones (each deleted row then costs ~20 µs: its pages and index entries go to the
 * WAL once per batch). Against 10 ms and 500 rows, on a 2-core machine beside 16 live requests in
 * flight: their p99 during a 20,000-row backlog 1.7-1.8× idle instead of 2.1-2.4× (the bench's
 * gc section, two runs each), during a 100,000-row one 2.15× instead of 2.77× (`bench/gc.mjs`, 3
 * rounds), and no slower: 1.0-1.1× the single DELETE at 20,000 rows, 0.17× at 100,000, as before.
 * PostgreSQL's and MySQL's first size is about what one batch deletes from a large backlog on a
 * loaded 2-core machine (`bench/gc.mjs`); the store then sizes batches by their duration.
 */
const GC: Record<Flavor, { gcBatchSize: number; gcBatchTime: number }> = {
  pg: { gcBatchSize: 10_000, gcBatchTime: 200 },
  mysql: { gcBatchSize: 10_000, gcBatchTime: 200 },
  sqlite: { gcBatchSize: 250, gcBatchTime: 5 },
};
