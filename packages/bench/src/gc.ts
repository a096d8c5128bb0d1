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

/**
 * A contender's table for the fill: its columns (the id's first), the SQL of the payload and of
 * the expiry (given how many seconds earlier than the bound value, where the column can say so),
 * and the bound value of an expiry.
 */
type Layout = [
  columns: string,
  payload: string,
  expiry: (secondsEarlier: string) => string,
  at: (ms: number) => Knex.Value,
];
function layout(d: Dialect, c: SqlContender): Layout {
  const iso = (at: number) => new Date(at).toISOString();
  if (c.name === "connect-session-knex") {
    const [payload, expiry] = d.key === "pg" ? ["?::json", "?::timestamptz"] : ["?", "?"];
    const datetime = (at: number) => iso(at).slice(0, 19).replace("T", " ");
    return ["sid, sess, expired", payload, () => expiry, d.key === "mysql" ? datetime : iso];
  }
  if (c.name === "connect-pg-simple")
    return ["sid, sess, expire", "?::json", (s) => `to_timestamp(?::float8 - ${s})`, (at) => at / 1000];
  if (c.name === "express-mysql-session")
    return ["session_id, data, expires", "?", (s) => `? - ${s}`, (at) => Math.round(at / 1000)];
  const ms = d.key === "pg" ? "?::bigint" : "?";
  return ["sid, data, expires", "?", (s) => `${ms} - ${s} * 1000`, (at) => at]; // raw, control, sessionkit
}

/**
 * Of rows 1..all, those `expired` of them spread evenly (row n is expired when n × expired mod
 * all < expired, which holds for exactly `expired` rows), as sessions of all ages are written
 * side by side: expired and live rows share the pages, and ids sort them together.
 */
const isExpired = (n: number, expired: number, all: number) => (n * expired) % all < expired;
/** The ids of the live rows a fill writes. */
function liveIds(expired: number, live: number): string[] {
  const all = expired + live;
  const ids: string[] = [];
  for (let n = 1; n <= all; n++) if (!isExpired(n, expired, all)) ids.push(`${n}l`);
  return ids;
}

/** A numbers source 1..count in one statement, per dialect (MariaDB: the SEQUENCE engine). */
function series(key: Dialect["key"], count: number) {
  if (key === "pg") return { prefix: "", from: `generate_series(1, ${count}) as g(n)`, n: "g.n" };
  if (key === "mysql") return { prefix: "", from: `seq_1_to_${count} as g`, n: "g.seq" };
  const prefix = `with recursive g(n) as (select 1 union all select n + 1 from g where n < ${count})`;
  return { prefix, from: "g", n: "n" };
}

/**
 * Empties `c`'s table and writes `expired` rows expired within the last 5,000 s (connect-session-knex's
 * all a minute ago) among `live` rows live for an hour, in one statement, interleaved (`isExpired`).
 */
async function fill(d: Dialect, c: SqlContender, expired: number, live: number): Promise<void> {
  const [columns, payload, expiry, at] = layout(d, c);
  // PostgreSQL: truncate leaves nothing for the vacuum below to clean (a DELETE leaves every row dead).
  await d.knex.raw(`${d.key === "pg" ? "truncate" : "delete from"} ${c.table}`);
  const s = series(d.key, expired + live);
  const n = d.key === "pg" ? `${s.n}::bigint` : s.n;
  const gone = `(${n} * ${expired}) % ${expired + live} < ${expired}`;
  const suffix = `case when ${gone} then 'e' else 'l' end`;
  const id = d.key === "mysql" ? `concat(${n}, ${suffix})` : `${n} || ${suffix}`;
  const expires = `case when ${gone} then ${expiry(`(${n} % 5000)`)} else ${expiry("0")} end`;
  const sql = `insert into ${c.table} (${columns}) ${s.prefix} select ${id}, ${payload}, ${expires} from ${s.from}`;
  await d.knex.raw(sql, [JSON.stringify(benchSession()), at(Date.now() - 60_000), at(Date.now() + HOUR)]);
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
  const [kept] = await d.knex(c.table).where(id, "like", "%l").count({ n: "*" });
  if (Number(all?.n) !== live || Number(kept?.n) !== live)
    throw new Error(`${c.table}: ${all?.n} rows left, ${kept?.n} live; expected exactly the ${live} live ones`);
}

type Prunable = SqlContender & { prune(): Promise<unknown> };

/** get, set and touch of random live sessions, through the contender's own store (or driver). */
function traffic(c: SqlContender, ids: string[]) {
  const session = benchSession();
  const ops = [c.ops.get, c.ops.set, c.ops.touch].filter((op) => op !== undefined);
  return (i: number) => (ops[i % ops.length] as Op)(ids[Math.floor(Math.random() * ids.length)] as string, session);
}

export const bench: Benchmark = (ctx) => {
  const size = SIZES[ctx.size];
  const title = (d: Dialect) => `GC on ${d.title.replace(/^knex on /, "")}`;
  return eachDialect(ctx, "skbench_gc", title, async (d, all) => {
    // Left out: the driver-handle store (it prunes with the knex store's statements), the adapter
    // alone and the legacy modes.
    const contenders = all.filter((c): c is Prunable => c.prune !== undefined && !c.name.startsWith("sessionkit, "));
    const scenarios = { "backlog prune": size.backlog, "routine prune": size.routine };
    const ids = Object.fromEntries(Object.entries(scenarios).map(([op, s]) => [op, liveIds(s.expired, s.live)]));
    const added: Partial<Record<Dialect["key"], number>> = size.quick;
    const rounds = size.rounds + (added[d.key] ?? 0);
    const run = async (c: Prunable, op: string, round: number) => {
      const scenario = scenarios[op as keyof typeof scenarios];
      const quick = round > size.rounds;
      await fill(d, c, scenario.expired, scenario.live);
      const live = traffic(c, ids[op] as string[]);
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
        `backlog: ${count(size.backlog)}; routine: ${count(size.routine)}; expired and live rows interleaved (they share the pages, and ids sort them together), the expired ones' expiries spread over the last 5,000 s (connect-session-knex's: all a minute ago). ops/s = expired rows deleted per second by one complete cleanup (median of ${rounds} interleaved rounds, each on a fresh fill); every live row was verified kept.`,
        `p99 ms = the 99th percentile latency of live traffic (get, set and touch of random live sessions through the same store, ${TRAFFIC} in flight) while the cleanup ran; the note gives the same traffic's p99 over ${IDLE_MS} ms with no cleanup (${rounds > size.rounds ? `in the first ${size.rounds} rounds; the others skip it` : "each round"}).`,
        `raw: one unbounded DELETE on the bare driver. sessionkit: store.prune() with its defaults: bounded batches, each sized to take ${batches}, yielding between them; operationTimeout bounds each batch. connect-session-knex: its private dbCleanup(); connect-pg-simple: pruneSessions(); express-mysql-session: clearExpiredSessions() (its table has no index on expires).`,
      ],
    };
  });
};
