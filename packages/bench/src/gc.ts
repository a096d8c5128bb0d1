// Garbage collection on each knex dialect: each store's own cleanup of expired sessions (rows/s)
// against the raw single DELETE, and the p99 latency of live traffic while it runs, against the
// same traffic with no cleanup running.
import { setTimeout as sleep } from "node:timers/promises";
import { knexAdapter } from "@sessionkit/knex";
import type { Knex } from "knex";
import { type Benchmark, benchSession, HOUR, interleaved, type Op, probe } from "./harness.js";
import { type Dialect, eachDialect, type SqlContender } from "./knex.js";

/**
 * `quick`: rounds added per dialect whose cleanups are short, each without the idle measurement (a
 * fill, a short settle, the cleanup beside live traffic: ~0.3 s a contender at the small size): a
 * PostgreSQL cleanup lasts 3-50 ms at the small size, which two timings each can't tell from noise.
 */
const SIZES = {
  small: {
    backlog: { expired: 20_000, live: 10_000 },
    routine: { expired: 1_000, live: 20_000 },
    rounds: 2,
    quick: { pg: 8 },
  },
  large: {
    backlog: { expired: 100_000, live: 10_000 },
    routine: { expired: 1_000, live: 100_000 },
    rounds: 3,
    quick: { pg: 4 },
  },
} as const;
/** Live requests in flight during each cleanup. */
const TRAFFIC = 16;
/** How long the same traffic runs with no cleanup, for the comparison. */
const IDLE_MS = 1000;

/** A contender's table for the fill: columns (the id's first), SQL for the values after the id, their bindings. */
type Layout = [columns: string, values: string, bindings: (at: number, payload: string) => Knex.Value[]];
function layout(d: Dialect, c: SqlContender): Layout {
  const iso = (at: number) => new Date(at).toISOString();
  const datetime = (at: number) => iso(at).slice(0, 19).replace("T", " ");
  if (c.name === "connect-session-knex") {
    const values = d.key === "pg" ? "?::json, ?::timestamptz" : "?, ?";
    return ["sid, sess, expired", values, (at, p) => [p, d.key === "mysql" ? datetime(at) : iso(at)]];
  }
  if (c.name === "connect-pg-simple")
    return ["sid, sess, expire", "?::json, to_timestamp(?)", (at, p) => [p, at / 1000]];
  if (c.name === "express-mysql-session")
    return ["session_id, data, expires", "?, ?", (at, p) => [p, Math.round(at / 1000)]];
  return ["sid, data, expires", "?, ?", (at, p) => [p, at]]; // raw, control, sessionkit
}

/** A numbers source 1..count in one statement, per dialect (MariaDB: the SEQUENCE engine). */
function series(key: Dialect["key"], count: number) {
  if (key === "pg") return { prefix: "", from: `generate_series(1, ${count}) as g(n)`, n: "g.n" };
  if (key === "mysql") return { prefix: "", from: `seq_1_to_${count} as g`, n: "g.seq" };
  const prefix = `with recursive g(n) as (select 1 union all select n + 1 from g where n < ${count})`;
  return { prefix, from: "g", n: "n" };
}

/** Empties `c`'s table and writes `expired` rows expired a minute ago ("e…") and `live` rows live for an hour ("l…"). */
async function fill(d: Dialect, c: SqlContender, expired: number, live: number): Promise<void> {
  const [columns, values, bindings] = layout(d, c);
  const payload = JSON.stringify(benchSession());
  // PostgreSQL: truncate leaves nothing for the vacuum below to clean (a DELETE leaves every row dead).
  await d.knex.raw(`${d.key === "pg" ? "truncate" : "delete from"} ${c.table}`);
  for (const [prefix, count, at] of [
    ["e", expired, Date.now() - 60_000],
    ["l", live, Date.now() + HOUR],
  ] as const) {
    const s = series(d.key, count);
    const id = d.key === "mysql" ? `concat('${prefix}', ${s.n})` : `'${prefix}' || ${s.n}`;
    const sql = `insert into ${c.table} (${columns}) ${s.prefix} select ${id}, ${values} from ${s.from}`;
    await d.knex.raw(sql, bindings(at, payload));
  }
  // The fill's DELETE leaves dead entries that the next scan would step over: cleared before timing.
  if (d.key === "pg") await d.knex.raw(`vacuum analyze ${c.table}`);
  if (d.key === "mysql") await innodbPurged(d.knex, c.table);
}

/** Waits (at most 30 s) until InnoDB has purged what the fill deleted, so no prune pays for it. */
async function innodbPurged(knex: Knex, table: string): Promise<void> {
  await knex.raw(`analyze table ${table}`);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(20)) {
    const [rows] = (await knex.raw("show engine innodb status")) as [Array<{ Status: string }>];
    if (Number(/History list length (\d+)/.exec(rows[0]?.Status ?? "")?.[1] ?? 0) < 100) return;
  }
}

/** Throws unless exactly the live rows are left: a cleanup that deletes a live session is wrong, not fast. */
async function verify(d: Dialect, c: SqlContender, live: number): Promise<void> {
  const id = layout(d, c)[0].split(",")[0] as string;
  const [all] = await d.knex(c.table).count({ n: "*" });
  const [kept] = await d.knex(c.table).where(id, "like", "l%").count({ n: "*" });
  if (Number(all?.n) !== live || Number(kept?.n) !== live)
    throw new Error(`${c.table}: ${all?.n} rows left, ${kept?.n} live; expected exactly the ${live} live ones`);
}

/** get, set and touch of random live sessions, through the contender's own store (or driver). */
function traffic(c: SqlContender, live: number) {
  const session = benchSession();
  const ops = [c.ops.get, c.ops.set, c.ops.touch].filter((op) => op !== undefined);
  return (i: number) => (ops[i % ops.length] as Op)(`l${1 + Math.floor(Math.random() * live)}`, session);
}

export const bench: Benchmark = (ctx) => {
  const size = SIZES[ctx.size];
  const title = (d: Dialect) => `GC on ${d.title.replace(/^knex on /, "")}`;
  return eachDialect(ctx, "skbench_gc", title, async (d, all) => {
    // Left out: the driver-handle store (it prunes with the knex store's statements) and the legacy modes.
    const contenders = all.filter((c) => !c.name.startsWith("sessionkit, "));
    const scenarios = { "backlog prune": size.backlog, "routine prune": size.routine };
    const added: Partial<Record<Dialect["key"], number>> = size.quick;
    const rounds = size.rounds + (added[d.key] ?? 0);
    const run = async (c: SqlContender, op: string, round: number) => {
      const scenario = scenarios[op as keyof typeof scenarios];
      const quick = round > size.rounds;
      await fill(d, c, scenario.expired, scenario.live);
      const live = traffic(c, scenario.live);
      await probe(live, TRAFFIC, () => sleep(quick ? 50 : 200)); // pools filled, caches warm
      const idle = quick ? undefined : await probe(live, TRAFFIC, () => sleep(IDLE_MS));
      const busy = await probe(live, TRAFFIC, () => c.prune());
      await verify(d, c, scenario.live);
      ctx.log(`${op} ${c.name}: ${Math.round(busy.ms)} ms, p99 ${busy.p99Ms.toFixed(1)} ms`);
      const figures = { opsPerSec: (scenario.expired / busy.ms) * 1000, p99Ms: busy.p99Ms, ops: busy.ops };
      return idle ? { ...figures, idle: idle.p99Ms } : figures;
    };
    const note = (m: Record<string, number>) =>
      `no cleanup: p99 ${m.idle?.toFixed(1)} ms; ${Math.round(m.ops ?? 0)} requests during it`;
    const options = { warmUp: false, note };
    const measurements = await interleaved(contenders, Object.keys(scenarios), rounds, run, ctx.log, options);
    const count = (s: { expired: number; live: number }) =>
      `${s.expired.toLocaleString("en")} expired among ${s.live.toLocaleString("en")} live`;
    // The batch time knexAdapter declares for this dialect, read here so the note can't go stale.
    const pace = knexAdapter(d.knex).capabilities?.gcBatchTime;
    const batches = pace
      ? `about ${pace} ms (the gcBatchTime knexAdapter declares for this database)`
      : "the store's default gcBatchTime (knexAdapter declares none for this database)";
    return {
      title: title(d),
      baseline: (contenders[0] as SqlContender).name,
      measurements,
      notes: [
        `backlog: ${count(size.backlog)}; routine: ${count(size.routine)}. ops/s = expired rows deleted per second by one complete cleanup (median of ${rounds} interleaved rounds, each on a fresh fill); every live row was verified kept.`,
        `p99 ms = the 99th percentile latency of live traffic (get, set and touch of random live sessions through the same store, ${TRAFFIC} in flight) while the cleanup ran; the note gives the same traffic's p99 over ${IDLE_MS} ms with no cleanup (${rounds > size.rounds ? `in the first ${size.rounds} rounds; the others skip it` : "each round"}).`,
        `raw: one unbounded DELETE on the bare driver. sessionkit: store.prune() with its defaults: bounded batches, each sized to take ${batches}, yielding between them; operationTimeout bounds each batch. connect-session-knex: its private dbCleanup(); connect-pg-simple: pruneSessions(); express-mysql-session: clearExpiredSessions() (its table has no index on expires).`,
      ],
    };
  });
};
