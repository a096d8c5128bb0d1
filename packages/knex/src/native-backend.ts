import type { BackendCapabilities, SessionBackend, SessionRecord } from "@sessionkit/core";
import type { Knex } from "knex";
import type { Dialect } from "./dialect.js";
import { type ExpiredCollector, StatementExpiredCollector } from "./expired-collector.js";
import { MysqlExpiredCollector } from "./mysql-expired.js";
import type { ResolvedOptions } from "./options.js";
import type { Row, SqlRunner } from "./runners.js";
import { ensureSchema } from "./schema.js";
import { buildStatements, type SqlDialect, type Statements } from "./sql.js";
import { ownersUnsupported } from "./unsupported.js";
import { type ExpiryCodec, expiryCodec, optionalText, textValue } from "./values.js";

/** Rows per page of `stream()`: bounded memory, and no connection held between pages. */
const STREAM_PAGE = 500;

/**
 * The backend for PostgreSQL (pg), MySQL/MariaDB (mysql2) and SQLite (better-sqlite3): one
 * hand-written statement per operation, run on a connection from the user's knex pool.
 */
export class NativeBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly #knex: Knex;
  readonly #dialect: SqlDialect;
  readonly #options: ResolvedOptions;
  readonly #sql: Statements;
  readonly #runner: SqlRunner;
  readonly #expiry: ExpiryCodec;
  readonly #expired: ExpiredCollector;

  constructor(
    knex: Knex,
    dialect: SqlDialect,
    options: ResolvedOptions,
    runner: SqlRunner,
    capabilities: BackendCapabilities,
  ) {
    this.#knex = knex;
    this.#dialect = dialect;
    this.#options = options;
    this.#runner = runner;
    this.#sql = buildStatements(dialect, options);
    this.#expiry = expiryCodec(dialect, options.legacy !== undefined);
    this.name = `knex:${dialect}${options.legacy ? ":legacy" : ""}`;
    this.capabilities = capabilities;
    this.#expired =
      dialect === "mysql"
        ? new MysqlExpiredCollector(runner, options)
        : new StatementExpiredCollector(runner, dialect, options);
  }

  init(): Promise<void> {
    return ensureSchema(this.#knex, this.#dialect as Dialect, this.#options);
  }

  async get(id: string): Promise<SessionRecord | null> {
    const rows = await this.#runner.rows(this.#sql.get, [id]);
    const row = rows[0];
    return row ? this.#record(id, row) : null;
  }

  async upsert(record: SessionRecord): Promise<void> {
    const expires = this.#expiry.toDb(record.expiresAt);
    const params = this.#options.legacy
      ? [record.id, record.payload, expires]
      : [record.id, record.payload, expires, record.owner];
    await this.#runner.run(this.#sql.upsert, params);
  }

  async touch(id: string, expiresAt: number, now: number): Promise<void> {
    await this.#runner.run(this.#sql.touch, [this.#expiry.toDb(expiresAt), id, this.#expiry.liveAfter(now)]);
  }

  async destroy(id: string): Promise<void> {
    await this.#runner.run(this.#sql.destroy, [id]);
  }

  destroyByOwner(owner: string): Promise<number> {
    const sql = this.#sql.destroyByOwner;
    return sql ? this.#runner.run(sql, [owner]) : ownersUnsupported(this.name);
  }

  async clear(): Promise<void> {
    this.#expired.reset();
    await this.#runner.run(this.#sql.clear, []);
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    // The batch size is inlined into SQL (MySQL rejects a bound LIMIT in some versions): integers only.
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`deleteExpired limit must be a positive integer, got ${limit}`);
    return this.#expired.deleteExpired(this.#expiry.liveAfter(now), limit);
  }

  async count(now: number): Promise<number> {
    const rows = await this.#runner.rows(this.#sql.count, [this.#expiry.liveAfter(now)]);
    return Number(rows[0]?.n ?? 0);
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    const nowDb = this.#expiry.liveAfter(now);
    let last: unknown;
    for (;;) {
      const after = last !== undefined;
      const rows = await this.#runner.rows(this.#sql.streamPage(after, STREAM_PAGE), after ? [nowDb, last] : [nowDb]);
      for (const row of rows) yield this.#record(textValue(row.s), row);
      if (rows.length < STREAM_PAGE) return;
      // The driver's own value (a Buffer for MySQL's binary ids) keeps the next page's comparison exact.
      last = rows[rows.length - 1]?.s;
    }
  }

  /** Nothing to release: the knex instance and its pool belong to the caller. */
  async close(): Promise<void> {}

  #record(id: string, row: Row): SessionRecord {
    return { id, payload: textValue(row.p), expiresAt: this.#expiry.fromDb(row.e), owner: optionalText(row.o) };
  }
}
