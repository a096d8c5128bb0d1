// PostgreSQL, MariaDB and SQLite: sessionkit (through knex, and through the bare driver handle)
// against the raw driver's best path (prepared statements), a control copy of it, and the peer
// stores. The dialects, their contenders and tables serve the GC section too (gc.ts).
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
  HOUR,
  type Session,
  storeContender,
} from "./harness.js";

const require = createRequire(import.meta.url);
const session = require("express-session");
const pg = require("pg") as { Pool: new (config: object) => PgPool };
const Database = require("better-sqlite3") as new (file: string) => SqliteDb;
type Row = Record<string, unknown>;
type PgPool = {
  query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: Row[] }>;
  end(): Promise<void>;
};
type Prepared = { get(...p: unknown[]): unknown; run(...p: unknown[]): unknown };
type SqliteDb = { prepare(sql: string): Prepared; pragma(p: string): unknown; close(): void };

const PG_URL = process.env.SESSIONKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const POOL = 16;
/** Commits wait for no fsync, for every contender alike: the tables compare stores, not this disk (MariaDB: lazyFlush). */
const PG = { connectionString: PG_URL, options: "-c synchronous_commit=off" };
/** SQLite: journal_mode WAL, synchronous NORMAL on every connection. */
const tuned = <D extends SqliteDb>(db: D) => {
  for (const p of ["journal_mode = WAL", "synchronous = NORMAL"]) db.pragma(p);
  return db;
};

/** A bare driver pool (SQLite: database) of its own, as knexAdapter takes it: its label in a contender's name, its close. */
type Handle = { label: string; client: Client; close(): Promise<unknown> };
type Client = { pg: PgPool } | { mysql2: mysql.Pool } | { betterSqlite3: SqliteDb };
const handle = (label: string, client: Client, close: () => Promise<unknown>): Handle => ({ label, client, close });

export interface Dialect {
  key: "pg" | "mysql" | "sqlite";
  title: string;
  /** The driver, as the raw contenders are named ("raw pg"). */
  driver: string;
  knex: Knex;
  open(): Handle;
}

/** The three dialects, each with its own knex instance, SQLite's database in `file`. */
function dialects(file: string): Dialect[] {
  const pool = { min: 1, max: POOL };
  return [
    {
      key: "pg",
      title: "knex on PostgreSQL (pg)",
      driver: "pg",
      knex: knexFactory({ client: "pg", connection: PG, pool }),
      open: (own = new pg.Pool({ ...PG, max: POOL })) => handle("pg pool", { pg: own }, () => own.end()),
    },
    {
      key: "mysql",
      title: "knex on MariaDB (mysql2)",
      driver: "mysql2",
      knex: knexFactory({ client: "mysql2", connection: MYSQL_URL, pool }),
      open: (own = mysql.createPool({ uri: MYSQL_URL, connectionLimit: POOL })) =>
        handle("mysql2 pool", { mysql2: own }, () => own.promise().end()),
    },
    {
      key: "sqlite",
      title: "knex on SQLite (better-sqlite3, file, WAL)",
      driver: "better-sqlite3",
      knex: knexFactory({
        client: "better-sqlite3",
        connection: { filename: file },
        useNullAsDefault: true,
        pool: { afterCreate: (db: SqliteDb, done: (e: null, c: unknown) => void) => done(null, tuned(db)) },
      }),
      open: (own = tuned(new Database(file))) =>
        handle("own database", { betterSqlite3: own }, async () => own.close()),
    },
  ];
}

/** A contender on a table of its own, with its own cleanup of expired sessions if it has one (for gc.ts). */
export interface SqlContender extends Contender {
  table: string;
  prune?(): Promise<unknown>;
}

type Statement = "get" | "set" | "touch" | "destroy" | "prune";

/**
 * Runs statement `key` with its values by the driver's best public path (pg named prepared
 * statements, mysql2 execute with a callback, better-sqlite3 statements prepared once): the first row of a select.
 */
function prepared({ client }: Handle, table: string, sql: Record<Statement, string>) {
  if ("pg" in client) {
    const numbered = (s: string, n = 0) => s.replace(/\?/g, () => `$${++n}`);
    const text = Object.fromEntries(Object.entries(sql).map(([k, s]) => [k, numbered(s)])) as Record<Statement, string>;
    return async (key: Statement, values: unknown[]) =>
      (await client.pg.query({ name: `${table}_${key}`, text: text[key], values })).rows[0];
  }
  if ("mysql2" in client) {
    // Its callback API: the promise one captures a stack trace on every call.
    const pool = client.mysql2;
    return (key: Statement, values: unknown[]) =>
      new Promise<Row | undefined>((resolve, reject) =>
        pool.execute(sql[key], values as never, (error, rows) => (error ? reject(error) : resolve((rows as Row[])[0]))),
      );
  }
  const statements = new Map(Object.entries(sql).map(([k, s]) => [k, client.betterSqlite3.prepare(s)]));
  return async (key: Statement, values: unknown[]) => {
    const statement = statements.get(key) as Prepared;
    return key === "get" ? (statement.get(...values) as Row | undefined) : void statement.run(...values);
  };
}

/** The raw driver doing the minimal work of a store, on a pool of its own: JSON, one statement per operation, the expiry checked on read. */
function raw(name: string, d: Dialect, table: string): SqlContender {
  const own = d.open();
  const upsert =
    d.key === "mysql"
      ? "on duplicate key update data = values(data), expires = values(expires)"
      : "on conflict (sid) do update set data = excluded.data, expires = excluded.expires";
  const run = prepared(own, table, {
    get: `select data, expires from ${table} where sid = ?`,
    set: `insert into ${table} (sid, data, expires) values (?, ?, ?) ${upsert}`,
    touch: `update ${table} set expires = ? where sid = ?`,
    destroy: `delete from ${table} where sid = ?`,
    prune: `delete from ${table} where expires <= ?`,
  });
  return {
    name,
    table,
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
    close: own.close,
  };
}

/** sessionkit over `h`'s client on `table` (created here, untimed); closing it closes `h`. */
async function sessionkit(name: string, h: Handle, table: string, legacy?: LegacyName): Promise<SqlContender> {
  const store = createStore(knexAdapter(h.client as never, { tableName: table, legacy }), { gcInterval: 0 });
  await store.length(); // init(): the table exists before the first timed call
  return { ...storeContender(name, store, h.close), table, prune: () => store.prune() };
}

/**
 * knexAdapter over `h`'s client called directly, without the store (its public backend API): the
 * statements sessionkit runs and nothing else, a destroy leaving the store's default tombstone (an
 * hour). Its ratio to raw is what those statements cost; the store's own, what the core adds.
 */
async function adapterAlone(h: Handle, table: string): Promise<SqlContender> {
  const b = knexAdapter(h.client as never, { tableName: table });
  await b.init();
  const at = (s: Session) => s.cookie.expires.getTime();
  const ops: SqlContender["ops"] = {
    get: async (id) => {
      const now = Date.now();
      const r = await b.get(id, now);
      return r && r.expiresAt > now ? JSON.parse(r.payload) : null;
    },
    set: (id, s) => b.upsert({ id, payload: JSON.stringify(s), expiresAt: at(s), owner: null, now: Date.now() }),
    touch: (id, s) => b.touch({ id, expiresAt: at(s), owner: null, now: Date.now() }),
    destroy: (id) => {
      const now = Date.now();
      return b.destroy(id, { now, until: now + HOUR });
    },
  };
  return { name: "sessionkit, adapter alone", ops, table, close: h.close };
}

/** The peer, then sessionkit with `legacy: <peer>` over `h` on a table of its own (`<peer's table>_sk`) in the peer's layout. */
async function withLegacy(h: Handle, peer: SqlContender): Promise<SqlContender[]> {
  return [peer, await sessionkit(`sessionkit, legacy ${peer.name}`, h, `${peer.table}_sk`, peer.name as LegacyName)];
}

async function connectSessionKnex(d: Dialect, table: string): Promise<SqlContender> {
  const store = new ConnectSessionKnexStore({ knex: d.knex, tableName: table, cleanupInterval: 0 });
  await store.ready;
  // Its cleanup is private and runs on a timer; called directly here, once.
  const prune = () => (store as unknown as { dbCleanup(): Promise<void> }).dbCleanup();
  return { ...storeContender("connect-session-knex", store), table, prune };
}

/** The dialect's own peer (connect-pg-simple, express-mysql-session) on `table`, over a pool of its own. */
async function ownPeer(d: Dialect, table: string): Promise<SqlContender> {
  const { client, close } = d.open();
  if ("pg" in client) {
    const Store = require("connect-pg-simple")(session);
    const options = { pool: client.pg, tableName: table, createTableIfMissing: true, pruneSessionInterval: false };
    const store = new Store(options);
    // Its first call creates the table (and an index of a fixed name: see dropTables).
    await fromCallback((cb) => store.get("warm-up", cb));
    const prune = () => fromCallback((cb) => store.pruneSessions(cb));
    return { ...storeContender("connect-pg-simple", store, close), table, prune };
  }
  if (!("mysql2" in client)) throw new Error(`${d.title}: no peer store of its own`);
  const Store = require("express-mysql-session")(session);
  const options = { clearExpired: false, createDatabaseTable: true, schema: { tableName: table } };
  const store = new Store(options, client.mysql2.promise());
  await store.onReady();
  return { ...storeContender("express-mysql-session", store, close), table, prune: () => store.clearExpiredSessions() };
}

/**
 * The contenders of `d`, on tables `<p>_<who>`: raw and control, sessionkit through knex and
 * through a driver handle, connect-session-knex and sessionkit in its legacy mode (through knex,
 * as it), then the dialect's own peer, if any, and sessionkit in that peer's legacy mode (through
 * a driver handle, as the peer).
 */
async function contenders(d: Dialect, p: string): Promise<SqlContender[]> {
  for (const t of ["raw", "ctl"]) await knexAdapter(d.knex, { tableName: `${p}_${t}` }).init();
  const viaKnex = { label: "knex", client: d.knex as never, close: async () => {} };
  const h = d.open();
  return [
    raw(`raw ${d.driver}`, d, `${p}_raw`),
    raw(`control: raw ${d.driver}`, d, `${p}_ctl`),
    await sessionkit("sessionkit", viaKnex, `${p}_sk`),
    await sessionkit(`sessionkit, ${h.label}`, h, `${p}_skd`),
    await adapterAlone(d.open(), `${p}_ska`),
    ...(await withLegacy(viaKnex, await connectSessionKnex(d, `${p}_csk`))),
    ...(d.key === "sqlite" ? [] : await withLegacy(d.open(), await ownPeer(d, `${p}_peer`))),
  ];
}

/**
 * Drops every table of both sections (before, in case an earlier run died, and after): a
 * leftover connect-pg-simple table keeps the index name the next one needs (IDX_session_expire).
 */
async function dropTables(knex: Knex): Promise<void> {
  for (const prefix of ["skbench_ops", "skbench_gc"])
    for (const t of ["raw", "ctl", "sk", "skd", "ska", "csk", "peer"])
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
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-"));
  const sections: BenchSection[] = [];
  for (const d of dialects(join(dir, "bench.db"))) {
    let all: SqlContender[] = [];
    let restore = async () => {};
    try {
      ctx.log(title(d));
      await dropTables(d.knex);
      restore = await lazyFlush(d);
      all = await contenders(d, prefix);
      sections.push(await measure(d, all));
    } catch (error) {
      ctx.log(`  not measured: ${String(error)}`);
      sections.push({ title: title(d), baseline: "raw", measurements: [], notes: [`Not measured: ${String(error)}`] });
    } finally {
      await closeAll(all, ctx.log);
      await restore().catch((e) => ctx.log(`could not restore settings: ${String(e)}`));
      await dropTables(d.knex).catch(() => {});
      await d.knex.destroy();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return sections;
}

const SIZES = { small: { ops: 3000, rounds: 5 }, large: { ops: 10_000, rounds: 7 } } as const;
const title = (d: Dialect) => d.title;

export const bench: Benchmark = (ctx) =>
  eachDialect(ctx, "skbench_ops", title, (d, all) => {
    const size = SIZES[ctx.size];
    // SQLite reads in microseconds: more gets per run, so a run lasts long enough to time.
    const options = { ...size, concurrency: 8, ...(d.key === "sqlite" && { repeat: { get: 5 } }) };
    return compareSection(d.title, all, options, ctx.log, {
      setup: `pools of ${POOL}`,
      more: [
        "raw: the same work on the bare driver's best path (pg named prepared statements, mysql2 execute with a callback, better-sqlite3 prepared statements): JSON, one statement per operation, expiry checked on read; no tombstones, no validation. control: the same raw code on its own table; its ratio is what noise alone gives in this run.",
        'sessionkit: createStore(knexAdapter(knex)), defaults (destroy leaves a tombstone). "sessionkit, <driver>": the same store over the bare driver handle instead of knex. "sessionkit, adapter alone": knexAdapter over the bare driver handle called directly, without the store: sessionkit\'s statements (the owner and times kept by set and touch, the tombstone of a destroy) and nothing else; its ratio to raw is what those statements cost, the line above it what the store adds. "sessionkit, legacy <peer>": knexAdapter(client, { legacy: "<peer>" }) on a table of its own in the peer\'s layout (no tombstones, owners or creation times there), over the peer\'s kind of client (knex for connect-session-knex, the driver\'s pool for the others), the row after the peer\'s.',
        d.key === "sqlite"
          ? "SQLite: journal_mode WAL, synchronous NORMAL on every connection."
          : "Commits don't wait for the disk (PostgreSQL synchronous_commit off; MariaDB innodb_flush_log_at_trx_commit 2 during the run).",
      ],
    });
  });
