import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import knexFactory, { type Knex } from "knex";
import type { BenchContext, Benchmark, BenchSection, Measurement } from "./harness.js";
import { benchSession, measure, timeJob } from "./harness.js";
import {
  type Contender,
  connectPgSimpleContender,
  connectSessionKnexContender,
  expressMysqlSessionContender,
  rawMysqlContender,
  rawPgContender,
  rawSqliteContender,
  sessionkitContender,
} from "./knex-contenders.js";
import {
  type BenchDialect,
  connectPgSimpleLayout,
  connectSessionKnexLayout,
  expressMysqlSessionLayout,
  fillForPrune,
  type Layout,
  sessionkitLayout,
  verifyPruned,
} from "./knex-prune.js";

const PG_URL = process.env.SESSIONKIT_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.SESSIONKIT_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const POOL = 10;
const CONCURRENCY = 8;

const SIZES = {
  small: {
    ops: 1500,
    rounds: 3,
    pruneRounds: 2,
    prune: { expired: 20_000, live: 2_000 },
    sparse: { expired: 1_000, live: 50_000 },
  },
  large: {
    ops: 10_000,
    rounds: 3,
    pruneRounds: 2,
    prune: { expired: 100_000, live: 10_000 },
    sparse: { expired: 2_000, live: 200_000 },
  },
} as const;

/** A prune scenario: how many expired and live rows the table holds when the cleanup starts. */
interface PruneScenario {
  /** The op name in the report. */
  op: string;
  expired: number;
  live: number;
}

/**
 * Commits wait for no fsync, for every contender alike: with the server's default each write
 * costs a disk flush, and the table would compare this machine's disk, not the stores.
 */
const PG_OPTIONS = "-c synchronous_commit=off";

/**
 * MariaDB's equivalent, server-wide (it has no per-session switch): the log is written at each
 * commit and flushed once a second. The previous value is put back when the section ends.
 */
async function mariadbLazyFlush(knex: Knex): Promise<() => Promise<void>> {
  const [[row]] = (await knex.raw("select @@global.innodb_flush_log_at_trx_commit as v")) as [Array<{ v: number }>];
  await knex.raw("set global innodb_flush_log_at_trx_commit = 2");
  return async () => {
    await knex.raw(`set global innodb_flush_log_at_trx_commit = ${Number(row?.v ?? 1)}`);
  };
}
/** SQLite in WAL mode with synchronous=NORMAL (the usual production setting), on every connection. */
const SQLITE_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL"];

interface Entry {
  contender: Contender;
  layout: Layout;
}

interface Target {
  dialect: BenchDialect;
  /** Operations per measurement relative to the size's: SQLite answers in microseconds and needs more to be timed at all. */
  opsScale: number;
  title: string;
  knex: Knex;
  /** Builds every contender (tables are created here, untimed). */
  entries(knex: Knex): Promise<Entry[]>;
  /** Server settings for the run; returns what puts them back. */
  configure?(knex: Knex): Promise<() => Promise<void>>;
  cleanup(): void;
}

const T = {
  ours: "bench_knex_sk",
  raw: "bench_knex_raw",
  csk: "bench_knex_csk",
  cps: "bench_knex_cps",
  ems: "bench_knex_ems",
};

async function rawTable(knex: Knex): Promise<void> {
  // The raw driver gets sessionkit's table shape, so both run the same statements on the same schema.
  const { knexAdapter } = await import("@sessionkit/knex");
  await knexAdapter(knex, { tableName: T.raw }).init();
}

function targets(): Target[] {
  const pool = { min: 2, max: POOL };
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-bench-knex-"));
  const sqliteFile = join(dir, "bench.db");
  return [
    {
      dialect: "pg",
      opsScale: 1,
      title: "knex on PostgreSQL (pg)",
      knex: knexFactory({ client: "pg", connection: { connectionString: PG_URL, options: PG_OPTIONS }, pool }),
      entries: async (knex) => {
        await rawTable(knex);
        return [
          { contender: rawPgContender(PG_URL, T.raw, POOL, PG_OPTIONS), layout: sessionkitLayout(T.raw) },
          { contender: await sessionkitContender(knex, T.ours), layout: sessionkitLayout(T.ours) },
          { contender: await connectSessionKnexContender(knex, T.csk), layout: connectSessionKnexLayout("pg", T.csk) },
          {
            contender: await connectPgSimpleContender(PG_URL, T.cps, POOL, PG_OPTIONS),
            layout: connectPgSimpleLayout(T.cps),
          },
        ];
      },
      cleanup: () => {},
    },
    {
      dialect: "mysql",
      opsScale: 1,
      title: "knex on MariaDB (mysql2)",
      knex: knexFactory({ client: "mysql2", connection: MYSQL_URL, pool }),
      configure: mariadbLazyFlush,
      entries: async (knex) => {
        await rawTable(knex);
        return [
          { contender: rawMysqlContender(MYSQL_URL, T.raw, POOL), layout: sessionkitLayout(T.raw) },
          { contender: await sessionkitContender(knex, T.ours), layout: sessionkitLayout(T.ours) },
          {
            contender: await connectSessionKnexContender(knex, T.csk),
            layout: connectSessionKnexLayout("mysql", T.csk),
          },
          {
            contender: await expressMysqlSessionContender(MYSQL_URL, T.ems, POOL),
            layout: expressMysqlSessionLayout(T.ems),
          },
        ];
      },
      cleanup: () => {},
    },
    {
      dialect: "sqlite",
      opsScale: 5,
      title: "knex on SQLite (better-sqlite3, file)",
      knex: knexFactory({
        client: "better-sqlite3",
        connection: { filename: sqliteFile },
        useNullAsDefault: true,
        pool: {
          afterCreate: (db: { pragma(p: string): unknown }, done: (e: Error | null, c: unknown) => void) => {
            for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
            done(null, db);
          },
        },
      }),
      entries: async (knex) => {
        await rawTable(knex);
        return [
          { contender: rawSqliteContender(sqliteFile, T.raw, SQLITE_PRAGMAS), layout: sessionkitLayout(T.raw) },
          { contender: await sessionkitContender(knex, T.ours), layout: sessionkitLayout(T.ours) },
          {
            contender: await connectSessionKnexContender(knex, T.csk),
            layout: connectSessionKnexLayout("sqlite", T.csk),
          },
        ];
      },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    },
  ];
}

const OPS = ["set", "get", "touch", "destroy"] as const;

/**
 * Each operation in `rounds` rounds, the contenders in a rotating order, keeping each one's best
 * round: the machine is shared, and a burst of someone else's load should not decide a ratio.
 */
async function measureOps(
  entries: Entry[],
  size: { ops: number; rounds: number },
  ctx: BenchContext,
): Promise<Measurement[]> {
  const ids = Array.from({ length: size.ops }, (_, i) => `bench-${i.toString(36)}-${"x".repeat(24)}`);
  const sess = benchSession();
  const out: Measurement[] = [];
  for (const op of OPS) {
    const best = new Map<Contender, { opsPerSec: number; p99Ms: number }>();
    for (let round = 0; round < size.rounds; round++) {
      const order = entries.map((_, k) => entries[(k + round) % entries.length] as Entry);
      for (const { contender } of order) {
        // destroy needs rows to delete: every round starts from the same written sessions.
        if (op === "destroy") await measure((i) => contender.set(ids[i] as string, sess), { ops: size.ops, warmup: 0 });
        const run =
          op === "get" || op === "destroy"
            ? (i: number) => contender[op](ids[i] as string)
            : (i: number) => contender[op](ids[i] as string, sess);
        const result = await measure(run, {
          ops: size.ops,
          concurrency: CONCURRENCY,
          warmup: op === "destroy" ? 0 : undefined,
        });
        const previous = best.get(contender);
        if (!previous || result.opsPerSec > previous.opsPerSec) best.set(contender, result);
      }
    }
    for (const { contender } of entries) {
      const { opsPerSec, p99Ms } = best.get(contender) as { opsPerSec: number; p99Ms: number };
      ctx.log(`  ${op} ${contender.name}: ${Math.round(opsPerSec)} ops/s`);
      out.push({
        contender: contender.name,
        op,
        opsPerSec,
        p99Ms,
        ...(contender.note ? { note: contender.note } : {}),
      });
    }
  }
  return out;
}

/** Each store's own cleanup of `expired` among `live` rows, best of `rounds` fresh fills; every live row must survive. */
async function measurePrune(
  target: Target,
  entries: Entry[],
  size: PruneScenario & { pruneRounds: number },
  ctx: BenchContext,
): Promise<Measurement[]> {
  const payload = JSON.stringify(benchSession());
  const jobs = entries.flatMap(({ contender, layout }) => [
    { name: contender.name, prune: () => contender.prune(), layout },
    ...(contender.otherPrunes ?? []).map((other) => ({ ...other, layout })),
  ]);
  const best = new Map<string, number>();
  for (let round = 0; round < size.pruneRounds; round++) {
    for (let k = 0; k < jobs.length; k++) {
      const { name, prune, layout } = jobs[(k + round) % jobs.length] as (typeof jobs)[number];
      await fillForPrune(target.knex, target.dialect, layout, size.expired, size.live, payload);
      const { ms } = await timeJob(async () => {
        await prune();
        return size.expired;
      });
      await verifyPruned(target.knex, layout, size.live);
      best.set(name, Math.min(best.get(name) ?? Number.POSITIVE_INFINITY, ms));
    }
  }
  return jobs.map(({ name }) => {
    const ms = best.get(name) as number;
    ctx.log(`  ${size.op} ${name}: ${Math.round(ms)} ms`);
    return { contender: name, op: size.op, opsPerSec: (size.expired / ms) * 1000 };
  });
}

const count = (n: number) => n.toLocaleString("en");

async function dropAll(knex: Knex): Promise<void> {
  for (const table of Object.values(T)) await knex.schema.dropTableIfExists(table);
}

/** Per dialect: get/set/touch/destroy through each store the way express-session calls it, then a prune. */
export const bench: Benchmark = async (ctx) => {
  const size = SIZES[ctx.size];
  const sections: BenchSection[] = [];
  for (const target of targets()) {
    ctx.log(`${target.title}`);
    const entries: Entry[] = [];
    let restore: (() => Promise<void>) | undefined;
    try {
      await target.knex.raw("select 1");
      restore = await target.configure?.(target.knex);
      await dropAll(target.knex);
      entries.push(...(await target.entries(target.knex)));
      const measurements = [
        ...(await measureOps(entries, { ops: size.ops * target.opsScale, rounds: size.rounds }, ctx)),
        ...(await measurePrune(target, entries, { op: "prune", ...size.prune, pruneRounds: size.pruneRounds }, ctx)),
        ...(await measurePrune(
          target,
          entries,
          { op: "prune-sparse", ...size.sparse, pruneRounds: size.pruneRounds },
          ctx,
        )),
      ];
      sections.push({
        title: target.title,
        baseline: entries[0]?.contender.name ?? "raw",
        measurements,
        notes: [
          `${size.ops * target.opsScale} operations per measurement, ${CONCURRENCY} in flight, pools of ${POOL} connections, best of ${size.rounds} interleaved rounds; sessions of about ${JSON.stringify(benchSession()).length} bytes of JSON.`,
          "Durability settings, the same for every contender, so that writes measure the stores and not this machine's disk: PostgreSQL synchronous_commit=off per session; MariaDB innodb_flush_log_at_trx_commit=2 for the section (server-wide, put back after); SQLite WAL with synchronous=NORMAL.",
          "Every store is called with callbacks, as express-session calls it; sessionkit through createStore(knexAdapter(knex)).",
          "The raw driver runs the same statements on the same table shape, plus the JSON.stringify/parse any store needs, and nothing else.",
          `Load average at the end of this section: ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores (other work on the machine makes single figures vary by tens of percent between runs).`,
          `prune: ${count(size.prune.expired)} expired among ${count(size.prune.live)} live sessions (a backlog: most of the table expired); prune-sparse: ${count(size.sparse.expired)} expired among ${count(size.sparse.live)} live (a routine run). Each store's own cleanup runs to the end, best of ${size.pruneRounds} fresh fills (PostgreSQL: the table vacuumed after the fill; MariaDB: started once InnoDB had purged it). sessionkit: store.prune() with the batch size the adapter declares (10000), and with gcBatchSize 1000 (the core's default); the raw driver and the peers: one unbounded DELETE. The figure is expired rows deleted per second; every live row was verified kept.`,
        ],
      });
    } catch (error) {
      ctx.log(`  skipped: ${error instanceof Error ? error.message : String(error)}`);
      sections.push({
        title: target.title,
        baseline: "raw",
        measurements: [],
        notes: [`Not measured: ${String(error)}`],
      });
    } finally {
      for (const { contender } of entries) await contender.close().catch(() => {});
      await restore?.().catch((error) => ctx.log(`  could not restore the server's settings: ${String(error)}`));
      await dropAll(target.knex).catch(() => {});
      await target.knex.destroy();
      target.cleanup();
    }
  }
  return sections;
};
