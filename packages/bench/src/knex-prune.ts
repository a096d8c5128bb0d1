import type { Knex } from "knex";

export type BenchDialect = "pg" | "mysql" | "sqlite";

/** How one contender's table stores a session: its columns and the SQL for one row's values. */
export interface Layout {
  table: string;
  sid: string;
  /** Column list of the INSERT, sid first. */
  columns: string[];
  /** SQL expressions for the columns after sid, with `?` bindings. */
  values: string[];
  /** Bindings for `values`, for a row expiring at `at` (epoch ms). */
  bindings(at: number, payload: string): Knex.Value[];
}

const utcDatetime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

/** sessionkit's layout (and the raw driver's, which uses the same table shape). */
export function sessionkitLayout(table: string): Layout {
  return {
    table,
    sid: "sid",
    columns: ["sid", "data", "expires", "owner"],
    values: ["?", "?", "null"],
    bindings: (at, payload) => [payload, at],
  };
}

export function connectSessionKnexLayout(dialect: BenchDialect, table: string): Layout {
  const expired = dialect === "mysql" ? utcDatetime : (ms: number) => new Date(ms).toISOString();
  return {
    table,
    sid: "sid",
    columns: ["sid", "sess", "expired"],
    values: dialect === "pg" ? ["?::json", "?::timestamptz"] : ["?", "?"],
    bindings: (at, payload) => [payload, expired(at)],
  };
}

export function connectPgSimpleLayout(table: string): Layout {
  return {
    table,
    sid: "sid",
    columns: ["sid", "sess", "expire"],
    values: ["?::json", "to_timestamp(?)"],
    bindings: (at, payload) => [payload, at / 1000],
  };
}

export function expressMysqlSessionLayout(table: string): Layout {
  return {
    table,
    sid: "session_id",
    columns: ["session_id", "data", "expires"],
    values: ["?", "?"],
    bindings: (at, payload) => [payload, Math.round(at / 1000)],
  };
}

/** A numbers source of 1..count in one statement, per dialect (MariaDB: the SEQUENCE engine). */
function series(dialect: BenchDialect, count: number): { prefix: string; from: string; n: string } {
  switch (dialect) {
    case "pg":
      return { prefix: "", from: `generate_series(1, ${count}) as g(n)`, n: "g.n" };
    case "mysql":
      return { prefix: "", from: `seq_1_to_${count} as g`, n: "g.seq" };
    case "sqlite":
      return {
        prefix: `with recursive g(n) as (select 1 union all select n + 1 from g where n < ${count})`,
        from: "g",
        n: "n",
      };
  }
}

const concat = (dialect: BenchDialect, prefix: string, n: string) =>
  dialect === "mysql" ? `concat('${prefix}', ${n})` : `'${prefix}' || ${n}`;

/** Empties the table and writes `expired` rows expired a minute ago and `live` rows live for an hour (ids "e…", "l…"). */
export async function fillForPrune(
  knex: Knex,
  dialect: BenchDialect,
  layout: Layout,
  expired: number,
  live: number,
  payload: string,
): Promise<void> {
  await knex.raw(`delete from ${layout.table}`);
  const now = Date.now();
  for (const [prefix, count, at] of [
    ["e", expired, now - 60_000],
    ["l", live, now + 3_600_000],
  ] as const) {
    const s = series(dialect, count);
    const select = [concat(dialect, prefix, s.n), ...layout.values].join(", ");
    await knex.raw(
      `insert into ${layout.table} (${layout.columns.join(", ")}) ${s.prefix} select ${select} from ${s.from}`,
      layout.bindings(at, payload),
    );
  }
  // PostgreSQL: vacuum too. The fill's DELETE leaves dead index entries that the next index
  // scan has to step over, so whichever contender's prune ran first after its fill paid for them.
  if (dialect !== "sqlite")
    await knex.raw(dialect === "pg" ? `vacuum analyze ${layout.table}` : `analyze table ${layout.table}`);
  if (dialect === "mysql") await innodbPurged(knex);
}

/**
 * Waits until InnoDB has purged what the fill deleted (history list length near 0, at most
 * 30 s): otherwise the purge thread cleans the previous fill's rows during the timed prune,
 * and whichever contender comes right after a fill pays for it.
 */
async function innodbPurged(knex: Knex): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [rows] = (await knex.raw("show engine innodb status")) as [Array<{ Status: string }>];
    const history = Number(/History list length (\d+)/.exec(rows[0]?.Status ?? "")?.[1] ?? 0);
    if (history < 100) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Throws unless exactly the live rows are left: a prune that deletes a live session is wrong, not fast. */
export async function verifyPruned(knex: Knex, layout: Layout, live: number): Promise<void> {
  const [all] = await knex(layout.table).count({ n: "*" });
  const [liveRows] = await knex(layout.table).where(layout.sid, "like", "l%").count({ n: "*" });
  const total = Number(all?.n);
  const liveLeft = Number(liveRows?.n);
  if (total !== live || liveLeft !== live) {
    throw new Error(
      `prune on ${layout.table} left ${total} rows, ${liveLeft} of them live; expected exactly the ${live} live ones`,
    );
  }
}
