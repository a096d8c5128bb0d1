import { createRequire } from "node:module";
import { createStore } from "@sessionkit/core";
import { knexAdapter } from "@sessionkit/knex";
import { ConnectSessionKnexStore } from "connect-session-knex";
import type { Knex } from "knex";
import mysql from "mysql2";
import { promisifyCallback } from "./harness.js";

const require = createRequire(import.meta.url);

// Drivers without type declarations in this package: typed by the little used here.
interface PgPool {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
}
interface SqliteStatement {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): unknown;
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  pragma(pragma: string): unknown;
  close(): void;
}
const pg = require("pg") as { Pool: new (config: object) => PgPool };
const Database = require("better-sqlite3") as new (filename: string) => SqliteDatabase;
const session = require("express-session") as unknown;

/** One session store (or the raw driver) as express-session drives it: callbacks, one session at a time. */
export interface Contender {
  name: string;
  get(id: string): Promise<unknown>;
  set(id: string, sess: BenchSession): Promise<unknown>;
  touch(id: string, sess: BenchSession): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
  /** The store's own cleanup of expired sessions, run once to the end. */
  prune(): Promise<unknown>;
  /** Other configurations of the same store's cleanup, measured on the same table. */
  otherPrunes?: Array<{ name: string; prune(): Promise<unknown> }>;
  close(): Promise<void>;
  note?: string;
}

/** An express-session session: a cookie with an expiry, and the application's data. */
export type BenchSession = { cookie: { expires: Date } } & Record<string, unknown>;

/** A store with express-session's callback API. */
interface CallbackStore {
  get(id: string, cb: (err: unknown, value?: unknown) => void): void;
  set(id: string, s: BenchSession, cb: (err: unknown) => void): void;
  touch(id: string, s: BenchSession, cb: (err: unknown) => void): void;
  destroy(id: string, cb: (err: unknown) => void): void;
}

function callbackContender(
  name: string,
  store: CallbackStore,
  prune: () => Promise<unknown>,
  close: () => Promise<void>,
  note?: string,
): Contender {
  return {
    name,
    prune,
    get: (id) => promisifyCallback((cb) => store.get(id, cb)),
    set: (id, s) => promisifyCallback((cb) => store.set(id, s, cb)),
    touch: (id, s) => promisifyCallback((cb) => store.touch(id, s, cb)),
    destroy: (id) => promisifyCallback((cb) => store.destroy(id, cb)),
    close,
    ...(note ? { note } : {}),
  };
}

const expiryOf = (s: BenchSession) => s.cookie.expires.getTime();

export async function sessionkitContender(knex: Knex, tableName: string): Promise<Contender> {
  const store = createStore(knexAdapter(knex, { tableName }), { gcInterval: 0 });
  await store.length(); // runs init(): table creation is not part of the measurement
  // The same store with the core's default GC batches (the adapter declares 10,000): more
  // round trips and commits, each holding its locks for less time.
  const smallBatches = createStore(knexAdapter(knex, { tableName }), { gcInterval: 0, gcBatchSize: 1000 });
  return {
    ...callbackContender(
      "sessionkit",
      store as unknown as CallbackStore,
      () => store.prune(),
      async () => {
        await store.close();
        await smallBatches.close();
      },
    ),
    otherPrunes: [{ name: "sessionkit, gcBatchSize 1000", prune: () => smallBatches.prune() }],
  };
}

export async function connectSessionKnexContender(knex: Knex, tableName: string): Promise<Contender> {
  const store = new ConnectSessionKnexStore({ knex, tableName, cleanupInterval: 0 });
  await store.ready;
  // Its cleanup is private and runs on a timer; called directly here, once.
  const cleanup = () => (store as unknown as { dbCleanup(): Promise<void> }).dbCleanup();
  return callbackContender("connect-session-knex", store as unknown as CallbackStore, cleanup, async () => {});
}

/** The same statements sessionkit sends, on the bare driver, plus the JSON work any store does. Nothing else. */
/** A pg pool whose connections start with the given server `options` (e.g. "-c synchronous_commit=off"). */
function pgPool(url: string, poolSize: number, options: string): PgPool {
  return new pg.Pool({ connectionString: url, max: poolSize, options });
}

export function rawPgContender(url: string, table: string, poolSize: number, options: string): Contender {
  const pool = pgPool(url, poolSize, options);
  return {
    name: "raw pg",
    get: async (id) => {
      const { rows } = await pool.query(`select data, expires from ${table} where sid = $1`, [id]);
      return rows[0] && Number(rows[0].expires) > Date.now() ? JSON.parse(rows[0].data as string) : null;
    },
    set: (id, s) =>
      pool.query(
        `insert into ${table} (sid, data, expires, owner) values ($1, $2, $3, $4) on conflict (sid) do update set data = excluded.data, expires = excluded.expires, owner = excluded.owner`,
        [id, JSON.stringify(s), expiryOf(s), null],
      ),
    touch: (id, s) => pool.query(`update ${table} set expires = $1 where sid = $2`, [expiryOf(s), id]),
    destroy: (id) => pool.query(`delete from ${table} where sid = $1`, [id]),
    prune: () => pool.query(`delete from ${table} where expires <= $1`, [Date.now()]),
    close: () => pool.end(),
  };
}

export function rawMysqlContender(url: string, table: string, poolSize: number): Contender {
  const pool = mysql.createPool({ uri: url, connectionLimit: poolSize }).promise();
  return {
    name: "raw mysql2",
    get: async (id) => {
      const [rows] = (await pool.query(`select data, expires from ${table} where sid = ?`, [id])) as unknown as [
        Array<{ data: string; expires: number }>,
      ];
      return rows[0] && Number(rows[0].expires) > Date.now() ? JSON.parse(rows[0].data) : null;
    },
    set: (id, s) =>
      pool.query(
        `insert into ${table} (sid, data, expires, owner) values (?, ?, ?, ?) on duplicate key update data = values(data), expires = values(expires), owner = values(owner)`,
        [id, JSON.stringify(s), expiryOf(s), null],
      ),
    touch: (id, s) => pool.query(`update ${table} set expires = ? where sid = ?`, [expiryOf(s), id]),
    destroy: (id) => pool.query(`delete from ${table} where sid = ?`, [id]),
    prune: () => pool.query(`delete from ${table} where expires <= ?`, [Date.now()]),
    close: () => pool.end(),
  };
}

export function rawSqliteContender(filename: string, table: string, pragmas: readonly string[]): Contender {
  const db = new Database(filename);
  for (const pragma of pragmas) db.pragma(pragma);
  const get = db.prepare(`select data, expires from ${table} where sid = ?`);
  const set = db.prepare(
    `insert into ${table} (sid, data, expires, owner) values (?, ?, ?, ?) on conflict (sid) do update set data = excluded.data, expires = excluded.expires, owner = excluded.owner`,
  );
  const touch = db.prepare(`update ${table} set expires = ? where sid = ?`);
  const destroy = db.prepare(`delete from ${table} where sid = ?`);
  return {
    name: "raw better-sqlite3",
    get: async (id) => {
      const row = get.get(id) as { data: string; expires: number } | undefined;
      return row && row.expires > Date.now() ? JSON.parse(row.data) : null;
    },
    set: async (id, s) => set.run(id, JSON.stringify(s), expiryOf(s), null),
    touch: async (id, s) => touch.run(expiryOf(s), id),
    destroy: async (id) => destroy.run(id),
    prune: async () => db.prepare(`delete from ${table} where expires <= ?`).run(Date.now()),
    close: async () => {
      db.close();
    },
    note: "prepared statements, one connection",
  };
}

export async function connectPgSimpleContender(
  url: string,
  tableName: string,
  poolSize: number,
  options: string,
): Promise<Contender> {
  const PGStore = require("connect-pg-simple")(session);
  const pool = pgPool(url, poolSize, options);
  const store = new PGStore({ pool, tableName, createTableIfMissing: true, pruneSessionInterval: false });
  await promisifyCallback((cb) => store.get("warm-up", cb)); // creates the table
  const prune = () => promisifyCallback((cb) => store.pruneSessions(cb));
  return callbackContender("connect-pg-simple", store, prune, async () => {
    await store.close();
    await pool.end();
  });
}

export async function expressMysqlSessionContender(
  url: string,
  tableName: string,
  poolSize: number,
): Promise<Contender> {
  const MySQLStore = require("express-mysql-session")(session);
  const pool = mysql.createPool({ uri: url, connectionLimit: poolSize }).promise();
  const store = new MySQLStore({ clearExpired: false, createDatabaseTable: true, schema: { tableName } }, pool);
  await store.onReady();
  return callbackContender(
    "express-mysql-session",
    store,
    () => store.clearExpiredSessions(),
    async () => {
      await store.close();
      await pool.end();
    },
  );
}
