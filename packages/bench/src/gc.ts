// Garbage collection on each knex dialect: each store's own cleanup of expired sessions (rows/s)
// against the raw single DELETE, and the p99 latency of live traffic while it runs, against the
// same traffic with no cleanup running.
import { setTimeout as sleep } from "node:timers/promises";
import type { Knex } from "knex";
import { type Benchmark, benchSession, interleaved, probe } from "./harness.js";
import { type Dialect, type DialectKey, eachDialect, type Layout, type SqlContender } from "./knex.js";

const SIZES = {
  small: { backlog: { expired: 20_000, live: 10_000 }, routine: { expired: 1_000, live: 20_000 }, rounds: 2 },
  large: { backlog: { expired: 100_000, live: 10_000 }, routine: { expired: 1_000, live: 100_000 }, rounds: 3 },
} as const;
/** Live requests in flight during each cleanup. */
const TRAFFIC = 16;
/** How long the same traffic runs with no cleanup, for the comparison. */
const IDLE_MS = 1000;

/** A numbers source 1..count in one statement, per dialect (MariaDB: the SEQUENCE engine). */
function series(key: DialectKey, count: number) {
  if (key === "pg") return { prefix: "", from: `generate_series(1, ${count}) as g(n)`, n: "g.n" };
  if (key === "mysql") return { prefix: "", from: `seq_1_to_${count} as g`, n: "g.seq" };
  const prefix = `with recursive g(n) as (select 1 union all select n + 1 from g where n < ${count})`;
  return { prefix, from: "g", n: "n" };
}

/** Empties the table and writes `expired` rows expired a minute ago ("e…") and `live` rows live for an hour ("l…"). */
async function fill(d: Dialect, layout: Layout, expired: number, live: number): Promise<void> {
  const payload = JSON.stringify(benchSession());
  await d.knex.raw(`delete from ${layout.table}`);
  for (const [prefix, count, at] of [
    ["e", expired, Date.now() - 60_000],
    ["l", live, Date.now() + 3_600_000],
  ] as const) {
    const s = series(d.key, count);
    const id = d.key === "mysql" ? `concat('${prefix}', ${s.n})` : `'${prefix}' || ${s.n}`;
    const sql = `insert into ${layout.table} (${layout.columns.join(", ")}) ${s.prefix} select ${[id, ...layout.values].join(", ")} from ${s.from}`;
    await d.knex.raw(sql, layout.bindings(at, payload));
  }
  // The fill's DELETE leaves dead entries that the next scan would step over: cleared before timing.
  if (d.key === "pg") await d.knex.raw(`vacuum analyze ${layout.table}`);
  if (d.key === "mysql") await innodbPurged(d.knex, layout.table);
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
async function verify(knex: Knex, layout: Layout, live: number): Promise<void> {
  const [all] = await knex(layout.table).count({ n: "*" });
  const [kept] = await knex(layout.table)
    .where(layout.columns[0] as string, "like", "l%")
    .count({ n: "*" });
  if (Number(all?.n) !== live || Number(kept?.n) !== live)
    throw new Error(`${layout.table}: ${all?.n} rows left, ${kept?.n} live; expected exactly the ${live} live ones`);
}

/** get, set and touch of random live sessions, through the contender's own store (or driver). */
function traffic(c: SqlContender, live: number) {
  const session = benchSession();
  const ops = [c.ops.get, c.ops.set, c.ops.touch].filter((op) => op !== undefined);
  return (i: number) => {
    const op = ops[i % ops.length] as NonNullable<SqlContender["ops"]["get"]>;
    return op(`l${1 + Math.floor(Math.random() * live)}`, session);
  };
}

export const bench: Benchmark = (ctx) => {
  const size = SIZES[ctx.size];
  const title = (d: Dialect) => `GC on ${d.title.replace(/^knex on /, "")}`;
  return eachDialect(ctx, "skbench_gc", title, async (d, all) => {
    // Left out: the driver-handle store (it prunes with the knex store's statements) and the legacy modes.
    const contenders = all.filter((c) => !c.name.startsWith("sessionkit, "));
    const scenarios = { "backlog prune": size.backlog, "routine prune": size.routine };
    const run = async (c: SqlContender, op: string) => {
      const scenario = scenarios[op as keyof typeof scenarios];
      await fill(d, c.layout, scenario.expired, scenario.live);
      const live = traffic(c, scenario.live);
      await probe(live, TRAFFIC, () => sleep(200)); // pools filled, caches warm
      const idle = await probe(live, TRAFFIC, () => sleep(IDLE_MS));
      const busy = await probe(live, TRAFFIC, () => c.prune());
      await verify(d.knex, c.layout, scenario.live);
      ctx.log(`${op} ${c.name}: ${Math.round(busy.ms)} ms, p99 ${busy.p99Ms.toFixed(1)} ms`);
      return { opsPerSec: (scenario.expired / busy.ms) * 1000, p99Ms: busy.p99Ms, idle: idle.p99Ms, ops: busy.ops };
    };
    const note = (m: Record<string, number>) =>
      `no cleanup: p99 ${m.idle?.toFixed(1)} ms; ${Math.round(m.ops ?? 0)} requests during it`;
    const options = { warmUp: false, note };
    const measurements = await interleaved(contenders, Object.keys(scenarios), size.rounds, run, ctx.log, options);
    const count = (s: { expired: number; live: number }) =>
      `${s.expired.toLocaleString("en")} expired among ${s.live.toLocaleString("en")} live`;
    return {
      title: title(d),
      baseline: (contenders[0] as SqlContender).name,
      measurements,
      notes: [
        `backlog: ${count(size.backlog)}; routine: ${count(size.routine)}. ops/s = expired rows deleted per second by one complete cleanup (median of ${size.rounds} interleaved rounds, each on a fresh fill); every live row was verified kept.`,
        `p99 ms = the 99th percentile latency of live traffic (get, set and touch of random live sessions through the same store, ${TRAFFIC} in flight) while the cleanup ran; the note gives the same traffic's p99 over ${IDLE_MS} ms with no cleanup.`,
        `raw: one unbounded DELETE on the bare driver. sessionkit: store.prune() with its defaults (bounded batches sized to about 10 ms each, yielding between them; operationTimeout bounds each batch). connect-session-knex: its private dbCleanup(); connect-pg-simple: pruneSessions(); express-mysql-session: clearExpiredSessions() (its table has no index on expires).`,
      ],
    };
  });
};
