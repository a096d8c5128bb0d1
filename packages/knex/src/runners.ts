import { createHash } from "node:crypto";

/** The SQL dialects sessionkit writes statements for. */
export type Flavor = "pg" | "mysql" | "sqlite";
export type Row = Record<string, unknown>;

/** What a write did: rows changed and, on MySQL, the statement's insert id (see `layout.ts`, upsert). */
export interface Changed {
  count: number;
  insertId: number;
}

/** Runs statements with `?` placeholders on one database, through knex or the user's own driver handle. */
export interface Runner {
  readonly flavor: Flavor;
  /** For `backend.name`: `knex:pg`, `pg`, `mysql2`, `better-sqlite3`, ... */
  readonly name: string;
  all(sql: string, params: readonly unknown[]): Promise<Row[]>;
  run(sql: string, params: readonly unknown[]): Promise<Changed>;
  /** `work` on one connection in one transaction (init's DDL). MySQL commits DDL by itself: there it just runs. */
  transaction<T>(work: (tx: Runner) => Promise<T>): Promise<T>;
}

/** What runs a pg query: a pool or one of its clients. */
interface PgQueryable {
  // biome-ignore lint/suspicious/noExplicitAny: pg's own parameter type
  query(config: { text: string; values: any[]; name?: string }): Promise<PgResult>;
}
/**
 * A knex instance (or transaction), by shape: what the adapter uses of it. Typed here, so that
 * an app on a driver handle alone needs no knex, not even its types.
 */
export interface KnexLike {
  // biome-ignore lint/suspicious/noExplicitAny: knex's own binding type
  raw(sql: string, bindings: readonly any[]): PromiseLike<unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: knex hands the callback its own Transaction
  transaction<T>(work: (trx: any) => Promise<T>): PromiseLike<T>;
  readonly client: unknown;
}

/** A `pg.Pool` (pg 8), by shape. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgQueryable & { release(): void }>;
}
interface PgResult {
  rows: Row[];
  rowCount: number | null;
}

/** A mysql2 pool or connection, callback or promise flavoured, by shape. */
export interface Mysql2Pool {
  // biome-ignore lint/suspicious/noExplicitAny: mysql2's own parameter type
  execute(sql: string, values: any[], callback?: (error: Error | null, result: unknown) => void): unknown;
}

/** A better-sqlite3 `Database`, by shape. */
export interface SqliteDatabase {
  prepare(sql: string): {
    all(...params: unknown[]): unknown[];
    run(...params: unknown[]): { changes: number };
  };
}

/** The user's own driver handle, named by its driver: statements skip knex's query pipeline. */
export type DriverHandle = { pg: PgPool } | { mysql2: Mysql2Pool } | { betterSqlite3: SqliteDatabase };

const changedOf = (count: unknown, insertId: unknown): Changed => ({
  count: Number(count ?? 0),
  insertId: Number(insertId ?? 0),
});

/**
 * MySQL errors after which InnoDB has rolled the statement back (a statement outside a
 * transaction is its own): the victim of a deadlock (1213, which a live write meets beside a GC
 * batch) and a lock wait timeout (1205). Running the statement again is the remedy.
 */
const ROLLED_BACK = new Set([1213, 1205]);
/** Runs after the first, immediately. */
const RETRIES = 2;

/** `run` again, up to RETRIES times, when InnoDB rolled it back; the last error reaches the caller. */
function retrying(run: Runner["run"]): Runner["run"] {
  return async (sql, params) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run(sql, params);
      } catch (error) {
        if (attempt >= RETRIES || !ROLLED_BACK.has((error as { errno?: number }).errno as number)) throw error;
      }
    }
  };
}

/**
 * knex.raw for everything, on knex's pool; results as each dialect's driver gives them. On MySQL,
 * a write InnoDB rolled back is run again (`retrying`), except in a transaction (init's).
 */
export function knexRunner(knex: KnexLike, flavor: Flavor, name: string, transactional = false): Runner {
  const raw = async (sql: string, params: readonly unknown[]) =>
    (await knex.raw(sql, params)) as Record<string, unknown> & unknown[];
  const run: Runner["run"] = async (sql, params) => {
    const result = await raw(sql, params);
    if (flavor === "pg") return changedOf(result.rowCount, 0);
    if (flavor === "mysql") {
      const header = result[0] as { affectedRows?: number; insertId?: number };
      return changedOf(header.affectedRows, header.insertId);
    }
    return changedOf(result.changes, 0);
  };
  return {
    flavor,
    name,
    async all(sql, params) {
      const result = await raw(sql, params);
      if (flavor === "pg") return result.rows as Row[];
      return (flavor === "mysql" ? result[0] : result) as Row[]; // mysql: [rows, fields]
    },
    run: flavor === "mysql" && !transactional ? retrying(run) : run,
    transaction: async (work) => knex.transaction((trx: KnexLike) => work(knexRunner(trx, flavor, name, true))),
  };
}

/** `work` between `begin` and a commit on one connection, rolled back if it fails. */
async function inTransaction<T>(tx: Runner, begin: string, work: (tx: Runner) => Promise<T>): Promise<T> {
  await tx.run(begin, []);
  try {
    const result = await work(tx);
    await tx.run("commit", []);
    return result;
  } catch (error) {
    await tx.run("rollback", []).catch(() => {});
    throw error;
  }
}

/** `?` to `$1, $2, ...` (sessionkit's statements hold no `?` elsewhere). */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/**
 * A pg pool. With `prepared`, each statement is a named prepared statement (parsed once per
 * connection); its name is a hash of its text, so two tables never claim one name.
 */
export function pgRunner(pool: PgQueryable & Partial<PgPool>, prepared: boolean): Runner {
  const texts = new Map<string, { text: string; name?: string }>();
  const query = (sql: string, params: readonly unknown[]) => {
    let entry = texts.get(sql);
    if (!entry) {
      const text = numbered(sql);
      entry = prepared ? { text, name: `sk_${createHash("sha1").update(text).digest("hex").slice(0, 20)}` } : { text };
      texts.set(sql, entry);
    }
    return pool.query({ ...entry, values: params as unknown[] });
  };
  return {
    flavor: "pg",
    name: "pg",
    all: async (sql, params) => (await query(sql, params)).rows,
    run: async (sql, params) => changedOf((await query(sql, params)).rowCount, 0),
    async transaction(work) {
      const client = await (pool as PgPool).connect();
      try {
        return await inTransaction(pgRunner(client, false), "begin", work);
      } finally {
        client.release();
      }
    },
  };
}

/**
 * A mysql2 pool: `execute`, server-side prepared statements (mysql2 prepares each text once per
 * connection and keeps it). A callback pool answers through the callback, a promise pool
 * (`mysql2/promise`) through the promise it returns; whichever comes first settles. A write
 * InnoDB rolled back is run again (`retrying`): every statement here is one transaction.
 */
export function mysql2Runner(pool: Mysql2Pool): Runner {
  const execute = (sql: string, params: readonly unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const done = (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result));
      const returned = pool.execute(sql, params as unknown[], done) as Promise<unknown[]> | undefined;
      if (returned && typeof returned.then === "function") returned.then(([result]) => resolve(result), reject);
    });
  const runner: Runner = {
    flavor: "mysql",
    name: "mysql2",
    all: async (sql, params) => (await execute(sql, params)) as Row[],
    run: retrying(async (sql, params) => {
      const header = (await execute(sql, params)) as { affectedRows?: number; insertId?: number };
      return changedOf(header.affectedRows, header.insertId);
    }),
    transaction: (work) => work(runner),
  };
  return runner;
}

/** A better-sqlite3 database: each statement prepared once. Synchronous, so each call is one step. */
export function sqliteRunner(db: SqliteDatabase): Runner {
  const statements = new Map<string, ReturnType<SqliteDatabase["prepare"]>>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const runner: Runner = {
    flavor: "sqlite",
    name: "better-sqlite3",
    all: async (sql, params) => prepared(sql).all(...params) as Row[],
    run: async (sql, params) => changedOf(prepared(sql).run(...params).changes, 0),
    transaction: (work) => inTransaction(runner, "begin immediate", work),
  };
  return runner;
}
