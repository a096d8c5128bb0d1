// PostgreSQL, MariaDB and SQLite: sessionkit (through knex, and through the bare driver handle)
// against the raw driver's best path (prepared statements), a control copy of it, and the peer
// stores. The contenders and tables are shared with the GC section (gc.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "@sessionkit/core";
import { fromCallback } from "@sessionkit/core/kit";
import { knexAdapter, type LegacyName } from "@sessionkit/knex";
import { ConnectSessionKnexStore } from "connect-session-knex";
import knexFactory, { type Knex } from "knex";
import mysql from "mysql2";
import {
  type BenchContext,
  type Benchmark,
  type BenchSection,
  type Contender,
  closeAll,
  compareSection,
  storeContender,
} from "./harness.js";

const require = createRequire(import.meta.url);
const session = require("express-session");
const pg = require("pg") as { Pool: new (config: object) => PgPool };
const Database = require("better-sqlite3") as new (file: string) => SqliteDb;
interface PgPool {
  query(q: string | { name?: string; text: string; values?: unknown[] }, values?: unknown[]): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
}
type Prepared = { get(...p: unknown[]): unknown; run(...p: unknown[]): unknown };
type SqliteDb = { prepare(sql: string): Prepared; pragma(p: string): unknown; close(): void };
type Row = Record<string, unknown>;

const PG_URL = process.env.SESSIONKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
/** Commits wait for no fsync, for every contender alike: the tables compare stores, not this disk. */
const PG_OPTIONS = "-c synchronous_commit=off";
/** SQLite: journal_mode WAL, synchronous NORMAL on every connection. */
const tuned = <D extends SqliteDb>(db: D) => {
  for (const p of ["journal_mode = WAL", "synchronous = NORMAL"]) db.pragma(p);
  return db;
};
const POOL = 16;

export type DialectKey = "pg" | "mysql" | "sqlite";

/** How a contender's table stores a row, for filling it by SQL: column list and value expressions. */
export interface Layout {
  table: string;
  /** The id's column first. */
  columns: string[];
  /** SQL for the columns after the id, with `?` bindings for `bindings(expiresAt, payload)`. */
  values: string[];
  bindings(at: number, payload: string): Knex.Value[];
}
const layout = (table: string, columns: string, values: string[], bindings: Layout["bindings"]): Layout => ({
  table,
  columns: columns.split(", "),
  values,
  bindings,
});

/** A contender with its table's layout and its own cleanup of expired sessions. */
export interface SqlContender extends Contender {
  layout: Layout;
  prune(): Promise<unknown>;
}

export interface Dialect {
  key: DialectKey;
  title: string;
  knex: Knex;
  /** Contenders on tables named `<prefix>_<who>`: raw, control, sessionkit (knex), sessionkit (driver), peers. */
  contenders(prefix: string): Promise<SqlContender[]>;
  close(): Promise<void>;
}

const ours = (table: string) => layout(table, "sid, data, expires", ["?", "?"], (at, payload) => [payload, at]);
const iso = (ms: number) => new Date(ms).toISOString();
const utcDatetime = (ms: number) => iso(ms).slice(0, 19).replace("T", " ");

type Statement = "get" | "set" | "touch" | "destroy" | "prune";
/** Runs one raw statement with its values; answers the first row (of a select). */
interface Runner {
  run(key: Statement, values: unknown[]): Promise<Row | undefined>;
  close(): Promise<unknown>;
}

/** The raw driver doing the minimal work of a store, by its best public path. */
function rawContender(name: string, table: string, { run, close }: Runner): SqlContender {
  return {
    name,
    layout: ours(table),
    ops: {
      get: async (id) => {
        const row = await run("get", [id]);
        return row && Number(row.expires) > Date.now() ? JSON.parse(row.data as string) : null;
      },
      set: (id, s) => run("set", [id, JSON.stringify(s), s.cookie.expires.getTime()]),
      touch: (id, s) => run("touch", [s.cookie.expires.getTime(), id]),
      destroy: (id) => run("destroy", [id]),
    },
    prune: () => run("prune", [Date.now()]),
    close,
  };
}

/** The raw statements, `?` placeholders (`$n` for pg); `upsert` is the dialect's insert-or-update. */
function statements(t: string, upsert: string, numbered = false): Record<Statement, string> {
  const sql = {
    get: `select data, expires from ${t} where sid = ?`,
    set: `insert into ${t} (sid, data, expires) values (?, ?, ?) ${upsert}`,
    touch: `update ${t} set expires = ? where sid = ?`,
    destroy: `delete from ${t} where sid = ?`,
    prune: `delete from ${t} where expires <= ?`,
  };
  if (!numbered) return sql;
  const number = (text: string, n = 0) => text.replace(/\?/g, () => `$${++n}`);
  return Object.fromEntries(Object.entries(sql).map(([k, v]) => [k, number(v)])) as Record<Statement, string>;
}
const CONFLICT = "on conflict (sid) do update set data = excluded.data, expires = excluded.expires";

/** pg: named prepared statements (parsed once per connection). */
function pgRunner(pool: PgPool, table: string): Runner {
  const sql = statements(table, CONFLICT, true);
  return {
    run: async (key, values) => (await pool.query({ name: `${table}_${key}`, text: sql[key], values })).rows[0],
    close: () => pool.end(),
  };
}

/** mysql2: `execute`, server-side prepared statements. */
function mysqlRunner(pool: ReturnType<typeof mysqlPool>, table: string): Runner {
  const sql = statements(table, "on duplicate key update data = values(data), expires = values(expires)");
  return {
    run: async (key, values) => ((await pool.execute(sql[key], values as never))[0] as Row[])[0],
    close: () => pool.end(),
  };
}

/** better-sqlite3: statements prepared once, on a connection of its own. */
function sqliteRunner(file: string, table: string): Runner {
  const db = tuned(new Database(file));
  const sql = statements(table, CONFLICT);
  const prepared = new Map(Object.entries(sql).map(([k, v]) => [k, db.prepare(v)]));
  return {
    run: async (key, values) => {
      const statement = prepared.get(key) as Prepared;
      return key === "get" ? (statement.get(...values) as Row | undefined) : void statement.run(...values);
    },
    close: async () => db.close(),
  };
}

const mysqlPool = () => mysql.createPool({ uri: MYSQL_URL, connectionLimit: POOL }).promise();
const pgPool = () => new pg.Pool({ connectionString: PG_URL, max: POOL, options: PG_OPTIONS });

/** sessionkit over `client` (a knex instance or a driver handle) on `layout`'s table, created here, untimed. */
async function sessionkit(
  name: string,
  client: Parameters<typeof knexAdapter>[0],
  layout: Layout,
  close?: () => Promise<unknown>,
  legacy?: LegacyName,
): Promise<SqlContender> {
  const store = createStore(knexAdapter(client, { tableName: layout.table, legacy }), { gcInterval: 0 });
  await store.length(); // init(): the table exists before the first timed call
  return { ...storeContender(name, store, close), layout, prune: () => store.prune() };
}

/** The peer, then sessionkit with `legacy: <peer>` over `h` on a table of its own (`<peer's table>_sk`) in the peer's layout. */
async function withLegacy(h: Handle, peer: SqlContender): Promise<SqlContender[]> {
  const layout = { ...peer.layout, table: `${peer.layout.table}_sk` };
  return [
    peer,
    await sessionkit(`sessionkit, legacy ${peer.name}`, h.client, layout, h.close, peer.name as LegacyName),
  ];
}

async function connectSessionKnex(knex: Knex, key: DialectKey, table: string): Promise<SqlContender> {
  const store = new ConnectSessionKnexStore({ knex, tableName: table, cleanupInterval: 0 });
  await store.ready;
  const values = key === "pg" ? ["?::json", "?::timestamptz"] : ["?", "?"];
  const expired = key === "mysql" ? utcDatetime : iso;
  return {
    ...storeContender("connect-session-knex", store),
    layout: layout(table, "sid, sess, expired", values, (at, payload) => [payload, expired(at)]),
    // Its cleanup is private and runs on a timer; called directly here, once.
    prune: () => (store as unknown as { dbCleanup(): Promise<void> }).dbCleanup(),
  };
}

async function connectPgSimple(table: string): Promise<SqlContender> {
  const pool = pgPool();
  const Store = require("connect-pg-simple")(session);
  const store = new Store({ pool, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
  // Its first call creates the table (and an index of a fixed name: see dropTables).
  await fromCallback((cb) => store.get("warm-up", cb));
  return {
    ...storeContender("connect-pg-simple", store, () => pool.end()),
    layout: layout(table, "sid, sess, expire", ["?::json", "to_timestamp(?)"], (at, payload) => [payload, at / 1000]),
    prune: () => fromCallback((cb) => store.pruneSessions(cb)),
  };
}

async function expressMysqlSession(table: string): Promise<SqlContender> {
  const pool = mysqlPool();
  const Store = require("express-mysql-session")(session);
  const store = new Store({ clearExpired: false, createDatabaseTable: true, schema: { tableName: table } }, pool);
  await store.onReady();
  const seconds = (at: number, payload: string) => [payload, Math.round(at / 1000)];
  return {
    ...storeContender("express-mysql-session", store, () => pool.end()),
    layout: layout(table, "session_id, data, expires", ["?", "?"], seconds),
    prune: () => store.clearExpiredSessions(),
  };
}

/** A client for a sessionkit store (a knex instance or a bare driver handle): its name in the table, and its close. */
type Handle = { label: string; client: Parameters<typeof knexAdapter>[0]; close(): Promise<unknown> };

/**
 * The contenders of a dialect, on tables `<p>_<who>`: raw and control on `driver` (each with a
 * runner of its own), sessionkit through `knex` and through a driver handle, connect-session-knex
 * and sessionkit in its legacy mode (through knex, as it), then the dialect's own peer, if any, and
 * sessionkit in that peer's legacy mode (through a driver handle, as the peer).
 */
async function contenders(
  key: DialectKey,
  knex: Knex,
  p: string,
  driver: string,
  runner: (table: string) => Runner,
  handle: () => Handle,
  peer?: (table: string) => Promise<SqlContender>,
): Promise<SqlContender[]> {
  for (const t of ["raw", "ctl"]) await knexAdapter(knex, { tableName: `${p}_${t}` }).init();
  const h = handle();
  const viaKnex = { label: "knex", client: knex, close: async () => {} };
  return [
    rawContender(`raw ${driver}`, `${p}_raw`, runner(`${p}_raw`)),
    rawContender(`control: raw ${driver}`, `${p}_ctl`, runner(`${p}_ctl`)),
    await sessionkit("sessionkit", knex, ours(`${p}_sk`)),
    await sessionkit(`sessionkit, ${h.label}`, h.client, ours(`${p}_skd`), h.close),
    ...(await withLegacy(viaKnex, await connectSessionKnex(knex, key, `${p}_csk`))),
    ...(peer ? await withLegacy(handle(), await peer(`${p}_${key === "pg" ? "cps" : "ems"}`)) : []),
  ];
}

/** The three dialects, each with its own knex instance; `close()` drops nothing (see dropTables). */
function dialects(): Dialect[] {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-"));
  const file = join(dir, "bench.db");
  const pool = { min: 1, max: POOL };
  const pgKnex = knexFactory({ client: "pg", connection: { connectionString: PG_URL, options: PG_OPTIONS }, pool });
  const myKnex = knexFactory({ client: "mysql2", connection: MYSQL_URL, pool });
  const liteKnex = knexFactory({
    client: "better-sqlite3",
    connection: { filename: file },
    useNullAsDefault: true,
    pool: { afterCreate: (db: SqliteDb, done: (e: null, c: unknown) => void) => done(null, tuned(db)) },
  });
  const pgHandle = (own = pgPool()) => ({ label: "pg pool", client: { pg: own as never }, close: () => own.end() });
  const myHandle = (own = mysql.createPool({ uri: MYSQL_URL, connectionLimit: POOL })) => ({
    label: "mysql2 pool",
    client: { mysql2: own },
    close: () => own.promise().end(),
  });
  const liteHandle = (own = tuned(new Database(file))) => ({
    label: "own database",
    client: { betterSqlite3: own as never },
    close: async () => own.close(),
  });
  return [
    {
      key: "pg",
      title: "knex on PostgreSQL (pg)",
      knex: pgKnex,
      contenders: (p) => contenders("pg", pgKnex, p, "pg", (t) => pgRunner(pgPool(), t), pgHandle, connectPgSimple),
      close: () => pgKnex.destroy(),
    },
    {
      key: "mysql",
      title: "knex on MariaDB (mysql2)",
      knex: myKnex,
      contenders: (p) =>
        contenders("mysql", myKnex, p, "mysql2", (t) => mysqlRunner(mysqlPool(), t), myHandle, expressMysqlSession),
      close: () => myKnex.destroy(),
    },
    {
      key: "sqlite",
      title: "knex on SQLite (better-sqlite3, file, WAL)",
      knex: liteKnex,
      contenders: (p) => contenders("sqlite", liteKnex, p, "better-sqlite3", (t) => sqliteRunner(file, t), liteHandle),
      close: async () => {
        await liteKnex.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    },
  ];
}

/**
 * Drops every table of both sections (before, in case an earlier run died, and after): a
 * leftover connect-pg-simple table keeps the index name the next one needs (IDX_session_expire).
 */
async function dropTables(knex: Knex): Promise<void> {
  for (const prefix of ["skbench_ops", "skbench_gc"])
    for (const t of ["raw", "ctl", "sk", "skd", "csk", "cps", "ems"])
      for (const table of [`${prefix}_${t}`, `${prefix}_${t}_sk`]) await knex.schema.dropTableIfExists(table);
}

/** MariaDB has no per-session switch for fsync at commit: lazy flush server-wide, put back after. */
async function lazyFlush(d: Dialect): Promise<() => Promise<void>> {
  if (d.key !== "mysql") return async () => {};
  const [[row]] = (await d.knex.raw("select @@global.innodb_flush_log_at_trx_commit as v")) as [Array<{ v: number }>];
  await d.knex.raw("set global innodb_flush_log_at_trx_commit = 2");
  return async () => void (await d.knex.raw(`set global innodb_flush_log_at_trx_commit = ${Number(row?.v ?? 1)}`));
}

/**
 * Measures each dialect in turn, on fresh tables named `<prefix>_<who>` (dropped before and
 * after) and with MariaDB's lazy flush on: `measure` gets every contender of the dialect, and
 * every one of them is closed after, whether measured or not. A dialect that fails gives a
 * "not measured" section under `title(d)`; the others still run.
 */
export async function eachDialect(
  ctx: BenchContext,
  prefix: string,
  title: (d: Dialect) => string,
  measure: (d: Dialect, contenders: SqlContender[]) => Promise<BenchSection>,
): Promise<BenchSection[]> {
  const sections: BenchSection[] = [];
  for (const d of dialects()) {
    let contenders: SqlContender[] = [];
    let restore = async () => {};
    try {
      ctx.log(title(d));
      await dropTables(d.knex);
      restore = await lazyFlush(d);
      contenders = await d.contenders(prefix);
      sections.push(await measure(d, contenders));
    } catch (error) {
      ctx.log(`  not measured: ${String(error)}`);
      sections.push({ title: title(d), baseline: "raw", measurements: [], notes: [`Not measured: ${String(error)}`] });
    } finally {
      await closeAll(contenders, ctx.log);
      await restore().catch((e) => ctx.log(`could not restore settings: ${String(e)}`));
      await dropTables(d.knex).catch(() => {});
      await d.close();
    }
  }
  return sections;
}

const SIZES = { small: { ops: 1000, rounds: 3 }, large: { ops: 5000, rounds: 5 } } as const;
const title = (d: Dialect) => d.title;

export const bench: Benchmark = (ctx) =>
  eachDialect(ctx, "skbench_ops", title, (d, contenders) => {
    const size = SIZES[ctx.size];
    // SQLite answers in microseconds: more operations per run, so a run lasts long enough to time.
    const options = { ...size, ops: d.key === "sqlite" ? size.ops * 5 : size.ops, concurrency: 8 };
    return compareSection(d.title, contenders, options, ctx.log, {
      setup: `pools of ${POOL}`,
      more: [
        "raw: the same work on the bare driver's best path (pg named prepared statements, mysql2 execute, better-sqlite3 prepared statements): JSON, one statement per operation, expiry checked on read; no tombstones, no validation. control: the same raw code on its own table; its ratio is what noise alone gives in this run.",
        'sessionkit: createStore(knexAdapter(knex)), defaults (destroy leaves a tombstone). "sessionkit, <driver>": the same store over the bare driver handle instead of knex. "sessionkit, legacy <peer>": knexAdapter(client, { legacy: "<peer>" }) on a table of its own in the peer\'s layout (no tombstones, owners or creation times there), over the peer\'s kind of client (knex for connect-session-knex, the driver\'s pool for the others), the row after the peer\'s.',
        d.key === "sqlite"
          ? "SQLite: journal_mode WAL, synchronous NORMAL on every connection."
          : "Commits don't wait for the disk (PostgreSQL synchronous_commit off; MariaDB innodb_flush_log_at_trx_commit 2 during the run).",
      ],
    });
  });
