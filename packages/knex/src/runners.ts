import { createHash } from "node:crypto";
import type { Knex } from "knex";
import type { FastDriver } from "./dialect.js";

export type Row = Record<string, unknown>;

/**
 * Runs one statement on a connection borrowed from the user's knex pool, talking to the driver
 * directly: knex's query pipeline costs more per call than the round trip itself on a loopback
 * database. The pool (its size, timeouts, validation of broken connections) stays knex's.
 */
export interface SqlRunner {
  /** A SELECT: its rows. */
  rows(sql: string, params: readonly unknown[]): Promise<Row[]>;
  /** An INSERT/UPDATE/DELETE: how many rows it changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>;
}

interface KnexPoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<void>;
}

async function withConnection<T>(knex: Knex, work: (connection: never) => Promise<T> | T): Promise<T> {
  const client = knex.client as unknown as KnexPoolClient;
  const connection = await client.acquireConnection();
  try {
    return await work(connection as never);
  } finally {
    // knex's pool validates a connection before handing it out again, so a broken one is dropped there.
    void client.releaseConnection(connection);
  }
}

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (our SQL holds no `?` in literals or names). */
function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

interface PgResult {
  rows: Row[];
  rowCount: number | null;
}
interface PgConnection {
  query(config: { text: string; values: unknown[]; name?: string }): Promise<PgResult>;
}

function pgRunner(knex: Knex, prepared: boolean): SqlRunner {
  const cache = new Map<string, { text: string; name: string | undefined }>();
  const compile = (sql: string) => {
    let entry = cache.get(sql);
    if (!entry) {
      const text = numberPlaceholders(sql);
      // Named by a hash of the text, so two adapters (two tables) never claim one name with different text.
      const name = prepared ? `sessionkit_${createHash("sha1").update(text).digest("hex").slice(0, 16)}` : undefined;
      entry = { text, name };
      cache.set(sql, entry);
    }
    return entry;
  };
  const query = (sql: string, params: readonly unknown[]) =>
    withConnection(knex, (connection: PgConnection) => {
      const { text, name } = compile(sql);
      return connection.query(
        name ? { name, text, values: params as unknown[] } : { text, values: params as unknown[] },
      );
    });
  return {
    rows: async (sql, params) => (await query(sql, params)).rows,
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
  };
}

interface MysqlConnection {
  query(sql: string, values: unknown[], callback: (error: Error | null, result: unknown) => void): void;
}

function mysql2Runner(knex: Knex): SqlRunner {
  const query = (sql: string, params: readonly unknown[]) =>
    withConnection(
      knex,
      (connection: MysqlConnection) =>
        new Promise<unknown>((resolve, reject) =>
          connection.query(sql, params as unknown[], (error, result) => (error ? reject(error) : resolve(result))),
        ),
    );
  return {
    rows: async (sql, params) => (await query(sql, params)) as Row[],
    run: async (sql, params) => ((await query(sql, params)) as { affectedRows: number }).affectedRows,
  };
}

interface SqliteStatement {
  all(...params: unknown[]): Row[];
  run(...params: unknown[]): { changes: number };
}
interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
}

interface TarnPoolShape {
  free?: Array<{ resource: unknown }>;
  pendingAcquires?: unknown[];
}

/**
 * An idle connection of knex's pool, or undefined. better-sqlite3 is synchronous: a statement
 * run on an idle connection finishes before any other code runs, so it cannot collide with a
 * transaction or query (those hold their connection out of the idle list). This skips the
 * pool's asynchronous acquire, which costs as much as the statement itself. Anything
 * unexpected about the pool's shape (another pool, a future version) takes the normal path.
 */
function idleSqliteConnection(knex: Knex): SqliteDatabase | undefined {
  const pool = (knex.client as { pool?: TarnPoolShape }).pool;
  const free = pool?.free;
  if (!Array.isArray(free) || free.length === 0 || !Array.isArray(pool?.pendingAcquires)) return undefined;
  if (pool.pendingAcquires.length > 0) return undefined; // others are queued: don't jump the queue
  const resource = free[free.length - 1]?.resource as Partial<SqliteDatabase> | undefined;
  return resource && typeof resource.prepare === "function" ? (resource as SqliteDatabase) : undefined;
}

function betterSqliteRunner(knex: Knex): SqlRunner {
  // Statements are compiled once per connection (knex prepares on every call).
  const statements = new WeakMap<SqliteDatabase, Map<string, SqliteStatement>>();
  const statement = (db: SqliteDatabase, sql: string) => {
    let perDb = statements.get(db);
    if (!perDb) {
      perDb = new Map();
      statements.set(db, perDb);
    }
    let stmt = perDb.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      perDb.set(sql, stmt);
    }
    return stmt;
  };
  const onConnection = async <T>(work: (db: SqliteDatabase) => T): Promise<T> => {
    const idle = idleSqliteConnection(knex);
    return idle ? work(idle) : withConnection(knex, work);
  };
  return {
    rows: (sql, params) => onConnection((db) => statement(db, sql).all(...params)),
    run: (sql, params) => onConnection((db) => statement(db, sql).run(...params).changes),
  };
}

/** The runner for a driver whose connections the adapter knows. */
export function createRunner(knex: Knex, driver: FastDriver, options: { preparedStatements: boolean }): SqlRunner {
  switch (driver) {
    case "pg":
      return pgRunner(knex, options.preparedStatements);
    case "mysql2":
      return mysql2Runner(knex);
    case "better-sqlite3":
      return betterSqliteRunner(knex);
  }
}
