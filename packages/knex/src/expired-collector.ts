import type { ResolvedOptions } from "./options.js";
import type { SqlRunner } from "./runners.js";
import { deleteExpiredSql } from "./sql.js";

/** Deletes one GC batch of expired rows; one per table, since a collector may keep its place between batches. */
export interface ExpiredCollector {
  /**
   * Deletes up to `limit` (a validated positive integer) rows expired at `bound`, the expiry
   * bound in the column's own representation; resolves with how many it deleted.
   */
  deleteExpired(bound: unknown, limit: number): Promise<number>;
  /** Starts the next batch from the first expired row (after clear()). */
  reset(): void;
}

/** PostgreSQL and SQLite: one bounded DELETE per batch, its SQL built once per batch size. */
export class StatementExpiredCollector implements ExpiredCollector {
  readonly #sqlByLimit = new Map<number, string>();

  constructor(
    private readonly runner: SqlRunner,
    private readonly dialect: "pg" | "sqlite",
    private readonly options: ResolvedOptions,
  ) {}

  deleteExpired(bound: unknown, limit: number): Promise<number> {
    let sql = this.#sqlByLimit.get(limit);
    if (!sql) {
      sql = deleteExpiredSql(this.dialect, this.options, limit);
      this.#sqlByLimit.set(limit, sql);
    }
    return this.runner.run(sql, [bound]);
  }

  reset(): void {} // keeps no place between batches
}
