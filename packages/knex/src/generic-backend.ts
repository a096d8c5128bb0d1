import type { BackendCapabilities, SessionBackend, SessionRecord } from "@sessionkit/core";
import type { Knex } from "knex";
import type { Dialect } from "./dialect.js";
import type { ResolvedOptions } from "./options.js";
import { ensureSchema } from "./schema.js";
import { ownersUnsupported } from "./unsupported.js";
import { type ExpiryCodec, expiryCodec, optionalText, textValue } from "./values.js";

const STREAM_PAGE = 500;

/**
 * The backend for every other knex client (MSSQL, Oracle, CockroachDB, the sqlite3, mysql,
 * mariadb and pg-native drivers): portable query-builder statements only. Upsert is an UPDATE
 * then an INSERT (two round trips when new), and deleting expired rows selects a batch of ids
 * then deletes them. Untested against those databases; see the README.
 */
export class GenericBackend implements SessionBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly #knex: Knex;
  readonly #dialect: Dialect;
  readonly #options: ResolvedOptions;
  readonly #expiry: ExpiryCodec;

  constructor(
    knex: Knex,
    dialect: Dialect,
    options: ResolvedOptions,
    clientName: string,
    capabilities: BackendCapabilities,
  ) {
    this.#knex = knex;
    this.#dialect = dialect;
    this.#options = options;
    this.#expiry = expiryCodec(dialect, options.legacy !== undefined);
    this.name = `knex:${clientName}${options.legacy ? ":legacy" : ""}`;
    this.capabilities = capabilities;
  }

  #table(): Knex.QueryBuilder {
    const { schemaName, tableName } = this.#options;
    return schemaName ? this.#knex.withSchema(schemaName).from(tableName) : this.#knex(tableName);
  }

  #columns(): string[] {
    const { sidColumn, dataColumn, expiresColumn, ownerColumn } = this.#options;
    return ownerColumn ? [sidColumn, dataColumn, expiresColumn, ownerColumn] : [sidColumn, dataColumn, expiresColumn];
  }

  #record(row: Record<string, unknown>): SessionRecord {
    const { sidColumn, dataColumn, expiresColumn, ownerColumn } = this.#options;
    return {
      id: textValue(row[sidColumn]),
      payload: textValue(row[dataColumn]),
      expiresAt: this.#expiry.fromDb(row[expiresColumn]),
      owner: ownerColumn ? optionalText(row[ownerColumn]) : null,
    };
  }

  init(): Promise<void> {
    return ensureSchema(this.#knex, this.#dialect, this.#options);
  }

  async get(id: string): Promise<SessionRecord | null> {
    const rows: Record<string, unknown>[] = await this.#table()
      .select(this.#columns())
      .where(this.#options.sidColumn, id);
    return rows[0] ? this.#record(rows[0]) : null;
  }

  async upsert(record: SessionRecord): Promise<void> {
    const { sidColumn, dataColumn, expiresColumn, ownerColumn } = this.#options;
    const values: Record<string, unknown> = {
      [dataColumn]: record.payload,
      [expiresColumn]: this.#expiry.toDb(record.expiresAt),
    };
    if (ownerColumn) values[ownerColumn] = record.owner;
    const update = () => this.#table().where(sidColumn, record.id).update(values);
    if ((await update()) > 0) return;
    try {
      await this.#table().insert({ [sidColumn]: record.id, ...values });
    } catch (error) {
      // A concurrent upsert inserted the row first: ours is the later write, so update it.
      if ((await update()) === 0) throw error;
    }
  }

  async touch(id: string, expiresAt: number, now: number): Promise<void> {
    // One conditional UPDATE: a row already expired at `now` is never revived.
    await this.#table()
      .where(this.#options.sidColumn, id)
      .where(this.#options.expiresColumn, ">", this.#expiry.liveAfter(now) as Knex.Value)
      .update({ [this.#options.expiresColumn]: this.#expiry.toDb(expiresAt) });
  }

  async destroy(id: string): Promise<void> {
    await this.#table().where(this.#options.sidColumn, id).delete();
  }

  destroyByOwner(owner: string): Promise<number> {
    const { ownerColumn } = this.#options;
    if (!ownerColumn) return ownersUnsupported(this.name);
    return Promise.resolve(this.#table().where(ownerColumn, owner).delete());
  }

  async clear(): Promise<void> {
    await this.#table().delete();
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    const { sidColumn, expiresColumn } = this.#options;
    const rows: Record<string, unknown>[] = await this.#table()
      .select(sidColumn)
      .where(expiresColumn, "<=", this.#expiry.liveAfter(now) as Knex.Value)
      .orderBy(expiresColumn)
      .limit(limit);
    if (rows.length === 0) return 0;
    const ids = rows.map((row) => row[sidColumn]);
    // Re-checks the expiry: a session touched between the two statements stays.
    return this.#table()
      .whereIn(sidColumn, ids as string[])
      .where(expiresColumn, "<=", this.#expiry.liveAfter(now) as Knex.Value)
      .delete();
  }

  async count(now: number): Promise<number> {
    const rows: Record<string, unknown>[] = await this.#table()
      .count({ n: "*" })
      .where(this.#options.expiresColumn, ">", this.#expiry.liveAfter(now) as Knex.Value);
    return Number(rows[0]?.n ?? 0);
  }

  async *stream(now: number): AsyncIterable<SessionRecord> {
    const { sidColumn, expiresColumn } = this.#options;
    const nowDb = this.#expiry.liveAfter(now) as Knex.Value;
    let last: unknown;
    for (;;) {
      const query = this.#table()
        .select(this.#columns())
        .where(expiresColumn, ">", nowDb)
        .orderBy(sidColumn)
        .limit(STREAM_PAGE);
      if (last !== undefined) query.where(sidColumn, ">", last as string);
      const rows: Record<string, unknown>[] = await query;
      for (const row of rows) yield this.#record(row);
      if (rows.length < STREAM_PAGE) return;
      last = rows[rows.length - 1]?.[sidColumn];
    }
  }

  async close(): Promise<void> {}
}
