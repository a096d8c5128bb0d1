// The one harness every section uses: contenders, interleaved rounds, medians, and a probe of
// live traffic's latency while a job (a prune) runs; and the model the report is made of.
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers/promises";
import { fromCallback } from "@sessionkit/core/kit";

/** One measured operation of one contender. */
export interface Measurement {
  contender: string;
  op: string;
  /** Operations per second (for a prune: expired rows deleted per second). */
  opsPerSec: number;
  /** 99th percentile latency of one operation in ms (for a prune: of the live traffic meanwhile). */
  p99Ms?: number;
  note?: string;
}

/** A table of measurements against one baseline (the raw driver), e.g. "knex on PostgreSQL". */
export interface BenchSection {
  title: string;
  baseline: string;
  measurements: Measurement[];
  notes?: string[];
}

/** What one benchmark module (e.g. "knex") produced: its sections, or the error that stopped it. */
export interface ModuleResult {
  module: string;
  sections: BenchSection[];
  error?: string;
  seconds: number;
}

/** Everything docs/benchmarks.md and its chart are made of. */
export interface BenchReport {
  date: Date;
  size: "small" | "large";
  /** The command that reproduces the run. */
  command: string;
  machine: { cpus: string; cores: number; memoryGiB: number; node: string; os: string };
  /** Package name -> version, for every store and driver measured. */
  versions: Record<string, string>;
  results: ModuleResult[];
}

/** The contender whose ratios the "× sessionkit" column uses. */
export const SESSIONKIT = "sessionkit";

/** `m`'s ops/s divided by the ops/s of `contender` for the same op, or undefined when there is none. */
export function ratioTo(section: BenchSection, m: Measurement, contender: string): number | undefined {
  const reference = section.measurements.find((other) => other.contender === contender && other.op === m.op);
  if (!reference || !(reference.opsPerSec > 0) || !Number.isFinite(m.opsPerSec)) return undefined;
  return m.opsPerSec / reference.opsPerSec;
}

export interface BenchContext {
  size: "small" | "large";
  log(message: string): void;
}

/** A benchmark module exports `bench: Benchmark`. */
export type Benchmark = (ctx: BenchContext) => Promise<BenchSection[]>;

export type Session = ReturnType<typeof benchSession>;
/** One operation on the session `id` (set and touch get the session, as express-session passes it). */
export type Op = (id: string, session: Session) => Promise<unknown>;
/** The store operations every section runs unless it names its own (the end-to-end section: requests). */
export const OPS = ["set", "get", "touch", "destroy"] as const;

/** A store (or the raw driver) as the harness drives it: the operations it has, and its cleanup. */
export interface Contender {
  name: string;
  ops: Partial<Record<string, Op>>;
  close?: (() => Promise<unknown>) | undefined;
}

/**
 * `ops` operations per timed run, `concurrency` of them in flight; `rounds` timed rounds after an
 * untimed warm-up round of a quarter of the operations; the operations in `sequence`'s order
 * (default: OPS) over the same ids within a round.
 */
export interface CompareOptions {
  ops: number;
  rounds: number;
  concurrency: number;
  sequence?: readonly string[];
}

/**
 * Every contender runs every operation once per round, the contenders in an order that rotates
 * from round to round, so background load and drift fall on all alike; round 0, the warm-up, only
 * when `warmUp`. `run` answers one run's figures (`opsPerSec`, `p99Ms`, any others; nothing when
 * the contender lacks the operation); each measurement has the medians over the timed rounds (of
 * a figure only some runs answer: over those), and the note `note` makes of them.
 */
export async function interleaved<C extends { name: string }>(
  contenders: C[],
  sequence: readonly string[],
  rounds: number,
  run: (c: C, op: string, round: number) => Promise<Record<string, number> | undefined>,
  log: (message: string) => void,
  { warmUp = true, note }: { warmUp?: boolean; note?: (medians: Record<string, number>) => string } = {},
): Promise<Measurement[]> {
  const runs = new Map<string, Array<Record<string, number>>>(); // by contender and op: the timed runs
  for (let round = warmUp ? 0 : 1; round <= rounds; round++) {
    for (const op of sequence) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + round) % contenders.length] as C;
        const result = await run(c, op, round);
        const key = `${c.name}\0${op}`;
        if (result && round > 0) runs.set(key, [...(runs.get(key) ?? []), result]);
      }
    }
    log(round === 0 ? "warm-up round done" : `round ${round}/${rounds} done`);
  }
  return sequence.flatMap((op) =>
    contenders.flatMap(({ name }) => {
      const own = runs.get(`${name}\0${op}`) ?? [];
      if (own.length === 0) return [];
      const keys = new Set(own.flatMap((r) => Object.keys(r)));
      const m = Object.fromEntries([...keys].map((k) => [k, median(own.map((r) => r[k] ?? NaN))]));
      return [{ contender: name, op, opsPerSec: m.opsPerSec ?? NaN, p99Ms: m.p99Ms, ...(note && { note: note(m) }) }];
    }),
  );
}

/**
 * `interleaved` timed runs of every operation over the same ids within a round (fresh ids each
 * round): each contender's median throughput and p99.
 */
export function compare(contenders: Contender[], options: CompareOptions, log: (m: string) => void) {
  const session = benchSession();
  // A touch moves the expiry (express-session's sets it to now + maxAge, past the stored one), so
  // every contender's touch, the raw ones' included, writes a change, not what is already there.
  const touched = benchSession(new Date(session.cookie.expires.getTime() + 60_000));
  const run = async (c: Contender, op: string, round: number) => {
    const fn = c.ops[op];
    const ops = round === 0 ? Math.ceil(options.ops / 4) : options.ops;
    return fn && timed((i) => fn(`r${round}-${i}`, op === "touch" ? touched : session), ops, options.concurrency);
  };
  return interleaved(contenders, options.sequence ?? OPS, options.rounds, run, log);
}

/**
 * `concurrency` callers of `op(0)`, `op(1)`, … while `more(next)`: every call's latency (ms). With
 * `pause`, each call waits for it first (a turn of the event loop), and its latency counts from
 * before the pause, as a request's counts from its arrival: one that comes while something holds
 * the event loop waits for it, and that wait is part of what it sees.
 */
async function load(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  more: (next: number) => boolean,
  pause?: () => Promise<unknown>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const caller = async () => {
    let t0 = performance.now();
    while (more(next)) {
      if (pause) await pause();
      await op(next++);
      const t = performance.now();
      latencies.push(t - t0);
      t0 = t;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return latencies;
}

/** Runs `op(0..ops-1)` with `concurrency` in flight, on a heap collected first (`node --expose-gc`): ops/s and p99. */
export async function timed(op: (i: number) => Promise<unknown>, ops: number, concurrency: number) {
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  const latencies = await load(op, Math.min(concurrency, ops), (next) => next < ops);
  return { opsPerSec: (ops / (performance.now() - started)) * 1000, p99Ms: quantile(latencies, 0.99) };
}

/**
 * Live traffic (`op(i)`, `concurrency` in flight) for as long as `during` runs: the p99 latency
 * of the operations that overlapped it, and how many there were. `during`'s own result is kept.
 */
export async function probe<T>(op: (i: number) => Promise<unknown>, concurrency: number, during: () => Promise<T>) {
  let done = false;
  // A synchronous driver (better-sqlite3) answers with settled promises: without a turn of the
  // event loop after each call, the timer that ends the probe would never fire.
  const traffic = load(op, concurrency, () => !done, setImmediate);
  const t0 = performance.now();
  try {
    const result = await during();
    const ms = performance.now() - t0;
    done = true;
    const latencies = await traffic;
    return { result, ms, p99Ms: quantile(latencies, 0.99), ops: latencies.length };
  } finally {
    done = true;
    await traffic;
  }
}

/** The q-quantile of `values` (NaN ones left out), interpolated between the two nearest (NaN when there are none). */
export function quantile(values: number[], q: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  const lower = sorted[below] as number;
  return lower + ((sorted[Math.min(below + 1, sorted.length - 1)] as number) - lower) * (at - below);
}

export const median = (values: number[]) => quantile(values, 0.5);

export const HOUR = 3_600_000;

/** The session every benchmark stores: a typical logged-in session (~300 bytes of JSON), cookie an hour ahead. */
export function benchSession(expires = new Date(Date.now() + HOUR)) {
  return {
    cookie: { originalMaxAge: HOUR, expires, httpOnly: true, path: "/", secure: false },
    user: { id: 4242, name: "Alice Example", roles: ["reader", "editor"] },
    csrf: "f3a9c0b1d2e4f5a6b7c8d9e0f1a2b3c4",
    views: 17,
    cart: [
      { sku: "A-100", qty: 2 },
      { sku: "B-205", qty: 1 },
    ],
  };
}

type Callback = (err: unknown, value?: unknown) => void;
/** The callback API express-session calls a store through. */
interface CallbackStore {
  get(sid: string, cb: Callback): void;
  set(sid: string, session: object, cb: Callback): void;
  touch?(sid: string, session: object, cb: Callback): void;
  destroy(sid: string, cb: Callback): void;
  close?(): unknown;
}

/**
 * A store called the way express-session calls it, with callbacks (no touch when it has none);
 * closing it closes the store (if it has a close()), then runs `after` (e.g. ends its client).
 */
export function storeContender(name: string, store: object, after?: () => unknown): Contender {
  const s = store as CallbackStore;
  const { touch } = s;
  return {
    name,
    ops: {
      set: (id, session) => fromCallback((cb) => s.set(id, session, cb)),
      get: (id) => fromCallback((cb) => s.get(id, cb)),
      ...(touch && { touch: (id: string, session: Session) => fromCallback((cb) => touch.call(s, id, session, cb)) }),
      destroy: (id) => fromCallback((cb) => s.destroy(id, cb)),
    },
    close: async () => {
      await s.close?.();
      await after?.();
    },
  };
}

/**
 * Compares the contenders into one section, the first one the baseline, then closes them all; its
 * first note says how (operations, concurrency, rounds, then `setup` when given), `notes` follow.
 */
export async function compareSection(
  title: string,
  contenders: Contender[],
  options: CompareOptions,
  log: (message: string) => void,
  notes: { setup?: string; more: string[] },
): Promise<BenchSection> {
  const measurements = await compare(contenders, options, log).finally(() => closeAll(contenders, log));
  const how = `${options.ops.toLocaleString("en")} operations per run, ${options.concurrency} in flight, median of ${options.rounds} interleaved rounds after a warm-up round`;
  return {
    title,
    baseline: (contenders[0] as Contender).name,
    measurements,
    notes: [`${how}${notes.setup ? `; ${notes.setup}` : ""}.`, ...notes.more],
  };
}

/** Closes every contender not closed yet, logging (not throwing) what fails, so one bad close hides no result. */
export async function closeAll(contenders: Contender[], log: (m: string) => void): Promise<void> {
  for (const c of contenders) {
    const close = c.close;
    c.close = undefined;
    await close?.call(c).catch((e) => log(`could not close ${c.name}: ${String(e)}`));
  }
}
