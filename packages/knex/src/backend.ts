import type * as kit from "@sessionkit/core/kit";
import { unsupported } from "@sessionkit/core/kit";
import { type BoundedDelete, type Layout, NO_CAP, PAGE, REFUSED } from "./layout.js";
import type { Row, Runner } from "./runners.js";
import { ensureSchema, type TablePlace } from "./schema.js";

/** A text column read back: binary ids come as Buffers, and mysql2 parses a JSON column (connect-session-knex's `sess`). */
function text(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}
/** A time column read back: NULL in rows written by sessionkit 0.1, until their first write. */
const time = (value: unknown) => (value === null || value === undefined ? undefined : Number(value));

/**
 * The records of one table, in one layout, through one runner: one statement per operation. The
 * runner may be knex or the user's own driver handle.
 */
export class SqlBackend implements kit.SessionBackend {
  readonly name: string;
  readonly capabilities: kit.BackendCapabilities;
  private preparing: Promise<void> | undefined;

  constructor(
    private readonly runner: Runner,
    private readonly layout: Layout,
    private readonly place: TablePlace,
    private readonly createTable: boolean,
    gc: { gcBatchSize: number; gcBatchTime: number },
  ) {
    this.name = `${runner.name}${layout.legacy ? `:${layout.legacy}` : ""}`;
    this.capabilities = { ...layout.capabilities, ...gc, legacy: layout.legacy };
  }

  /**
   * One attempt at a time: after a timeout the store calls init() again, while the attempt that
   * timed out may still wait on a hung database, holding a connection of the pool; a new call
   * joins that attempt instead of taking another connection.
   */
  init(): Promise<void> {
    this.preparing ??= ensureSchema(this.runner, this.layout, this.place, this.createTable).finally(() => {
      this.preparing = undefined;
    });
    return this.preparing;
  }

  get(id: string): Promise<kit.SessionRecord | null> {
    return this.runner.all(this.layout.sql.get, [id]).then(([row]) => (row ? this.record(id, row) : null));
  }

  async upsert(w: kit.SessionWrite): Promise<boolean> {
    const { sql, flavor, legacy } = this.layout;
    if (legacy) return this.runner.run(sql.upsert, [w.id, w.payload, this.layout.toDb(w.expiresAt)]).then(() => true);
    const cap = w.maxLifetimeMs ?? NO_CAP;
    const head = [w.id, w.payload, Math.min(w.expiresAt, w.now + cap), w.owner, w.now, w.now];
    if (flavor !== "mysql") return (await this.runner.run(sql.upsert, [...head, cap, w.now])).count > 0;
    const { insertId } = await this.runner.run(sql.upsert, [...head, w.now, w.now, w.now, w.now, w.now, cap]);
    return insertId !== REFUSED;
  }

  async touch(t: kit.SessionTouch): Promise<void> {
    const { sql, legacy, toDb, bound } = this.layout;
    if (legacy) await this.runner.run(sql.touch, [toDb(t.expiresAt), t.id, bound(t.now)]);
    else await this.runner.run(sql.touch, [t.now, t.expiresAt, t.now, t.maxLifetimeMs ?? NO_CAP, t.now, t.id, t.now]);
  }

  async destroy(id: string, tombstone?: kit.Tombstone): Promise<void> {
    const { sql } = this.layout;
    if (tombstone && sql.tombstone)
      await this.runner.run(sql.tombstone, [tombstone.until, tombstone.now, tombstone.now, id]);
    else await this.runner.run(sql.destroy, [id]);
  }

  async destroyByOwner(owner: string, options: kit.OwnerDestroy = {}): Promise<number> {
    const { destroyByOwner, tombstoneByOwner } = this.layout.sql;
    if (!destroyByOwner || !tombstoneByOwner) return unsupported(this.name, "has no owner column (legacy layout)");
    const { except = "", tombstone } = options; // "" is never an id: the core refuses empty ids
    const { count } = tombstone
      ? await this.runner.run(tombstoneByOwner, [tombstone.until, tombstone.now, tombstone.now, owner, except])
      : await this.runner.run(destroyByOwner, [owner, except]);
    return count;
  }

  async listByOwner(owner: string, now: number): Promise<kit.SessionRecord[]> {
    const sql = this.layout.sql.listByOwner;
    if (!sql) return unsupported(this.name, "has no owner column (legacy layout)");
    return (await this.runner.all(sql, [owner, now])).map((row) => this.record(text(row.s), row));
  }

  async clear(): Promise<void> {
    await this.runner.run(this.layout.sql.clear, []);
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    const { expired } = this.layout.sql;
    const at = this.layout.bound(now);
    let statement: BoundedDelete = expired;
    if (expired.byKey) {
      // MySQL: a batch planned as a scan of the whole table would lock the live rows it passes.
      const [plan] = await this.runner.all(`explain ${expired.sql}`, expired.params(at, limit));
      if (String(plan?.type).toUpperCase() === "ALL") statement = expired.byKey;
    }
    // Stateless: each call starts from what is stored, whichever instance made the last.
    return (await this.runner.run(statement.sql, statement.params(at, limit))).count;
  }

  async count(now: number): Promise<number> {
    const [row] = await this.runner.all(this.layout.sql.count, [this.layout.bound(now)]);
    return Number(row?.n ?? 0);
  }

  async *stream(now: number): AsyncIterable<kit.SessionRecord> {
    let after: unknown = "";
    for (;;) {
      const rows = await this.runner.all(this.layout.sql.page, [this.layout.bound(now), after]);
      for (const row of rows) yield this.record(text(row.s), row);
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1]?.s; // the driver's own value (a Buffer for MySQL's binary ids)
    }
  }

  /** Nothing to release: knex or the driver handle belongs to the caller. */
  async close(): Promise<void> {}

  private record(id: string, row: Row): kit.SessionRecord {
    const payload = text(row.p);
    const expiresAt = this.layout.fromDb(row.e);
    if (this.layout.legacy) return { id, payload, expiresAt, owner: null };
    const owner = row.o === null || row.o === undefined ? null : text(row.o);
    return { id, payload, expiresAt, owner, createdAt: time(row.c), lastActiveAt: time(row.a) };
  }
}
