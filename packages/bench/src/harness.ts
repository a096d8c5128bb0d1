// The one harness of every section (contenders, interleaved rounds, medians, the live-latency
// probe) and the model the report is rendered from.
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers/promises";
import { fromCallback } from "@sessionkit/core/kit";

/** One operation of one contender: ops/s (a prune: expired rows deleted per second) and p99 ms (a prune: of live traffic meanwhile). */
export interface Measurement {
  contender: string;
  op: string;
  opsPerSec: number;
  p99Ms?: number | undefined;
  note?: string;
}

/** A table of measurements against one baseline (the raw driver). */
export interface BenchSection {
  title: string;
  baseline: string;
  measurements: Measurement[];
  notes?: string[];
}

/** What one module (e.g. "knex") produced: its sections, or the error that stopped it. */
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
  /** Package name -> version of every store and driver measured. */
  versions: Record<string, string>;
  results: ModuleResult[];
}

/** The contender of the "× sessionkit" column. */
export const SESSIONKIT = "sessionkit";

/** `m`'s ops/s over `contender`'s for the same op; undefined when there is none. */
export function ratioTo(section: BenchSection, m: Measurement, contender: string): number | undefined {
  const reference = section.measurements.find((other) => other.contender === contender && other.op === m.op);
  if (!reference || !(reference.opsPerSec > 0) || !Number.isFinite(m.opsPerSec)) return undefined;
  return m.opsPerSec / reference.opsPerSec;
}

export type Log = (message: string) => void;
export interface BenchContext {
  size: "small" | "large";
  log: Log;
}
/** What a module exports as `bench`. */
export type Benchmark = (ctx: BenchContext) => Promise<BenchSection[]>;

export type Session = ReturnType<typeof benchSession>;
/** One operation on session `id` (set and touch get the session, as express-session passes it). */
export type Op = (id: string, session: Session) => Promise<unknown>;
export const OPS = ["set", "get", "touch", "destroy"] as const;

/** A store (or the raw driver) as the harness drives it. */
export interface Contender {
  name: string;
  ops: Partial<Record<string, Op>>;
  close?: (() => Promise<unknown>) | undefined;
}

/**
 * `ops` per timed run (the warm-up round a quarter), `concurrency` in flight, `sequence` (default
 * OPS) over the same ids; an op in `repeat` makes that many times as many calls, going over the
 * ids again (a get that answers in microseconds needs more to last long enough to time).
 */
export interface CompareOptions {
  ops: number;
  rounds: number;
  concurrency: number;
  sequence?: readonly string[];
  repeat?: Partial<Record<string, number>>;
}

/**
 * Runs every contender on every op once per round (round 0, a warm-up, only when `warmUp`), the
 * contenders' order rotated each round by a share of the list, so that each runs early in one
 * round and late in another: background load and the database's own work after the writes fall
 * on all alike. `run` answers a
 * run's figures (nothing when the contender lacks the op); each measurement has their medians over
 * the timed runs that gave them, and the note `note` makes of them.
 */
export async function interleaved<C extends { name: string }>(
  contenders: C[],
  sequence: readonly string[],
  rounds: number,
  run: (c: C, op: string, round: number) => Promise<Record<string, number> | undefined>,
  log: Log,
  { warmUp = true, note }: { warmUp?: boolean; note?: (medians: Record<string, number>) => string } = {},
): Promise<Measurement[]> {
  const runs = new Map<string, Array<Record<string, number>>>();
  for (let round = warmUp ? 0 : 1; round <= rounds; round++) {
    for (const op of sequence) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + Math.floor((round * contenders.length) / rounds)) % contenders.length] as C;
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

/** `interleaved` timed runs of each op, fresh ids each round: each contender's median ops/s and p99. */
export function compare(contenders: Contender[], options: CompareOptions, log: Log) {
  const sessionFor = sessions();
  const run = async (c: Contender, op: string, round: number) => {
    const fn = c.ops[op];
    const ids = round === 0 ? Math.ceil(options.ops / 4) : options.ops;
    const calls = ids * (options.repeat?.[op] ?? 1);
    return fn && timed((i) => fn(`r${round}-${i % ids}`, sessionFor(op)), calls, options.concurrency);
  };
  return interleaved(contenders, options.sequence ?? OPS, options.rounds, run, log);
}

/** The session each op is given: a touch's moves the expiry, as express-session's does (every touch, raw's too, writes a change). */
export function sessions(): (op: string) => Session {
  const session = benchSession();
  const touched = benchSession(new Date(session.cookie.expires.getTime() + 60_000));
  return (op) => (op === "touch" ? touched : session);
}

/**
 * `concurrency` callers of `op(0)`, `op(1)`, … while `more(next)`: each call's latency. With
 * `pause` (a turn of the event loop) before each call, latency counts from before it, as a
 * request's counts from its arrival: a stall of the event loop is part of what it sees.
 */
async function load(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  more: (next: number) => boolean,
  pause?: () => Promise<unknown>,
) {
  const latencies: number[] = [];
  let next = 0;
  const caller = async () => {
    for (let t0 = performance.now(); more(next); ) {
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

/**
 * `op(0..ops-1)`, `concurrency` in flight, on a heap collected first (`node --expose-gc`): ops/s
 * and p99. A plain major collection: `gc()` without options also gives memory back, after
 * which the next 2,000 PouchDB writes ran at two thirds of their speed.
 */
export async function timed(op: (i: number) => Promise<unknown>, ops: number, concurrency: number) {
  (globalThis as { gc?: (options: { type: "major" }) => void }).gc?.({ type: "major" });
  const started = performance.now();
  const latencies = await load(op, Math.min(concurrency, ops), (next) => next < ops);
  return { opsPerSec: (ops / (performance.now() - started)) * 1000, p99Ms: quantile(latencies, 0.99) };
}

/** Live traffic (`op(i)`, `concurrency` in flight) while `during` runs: its result, ms, and the traffic's p99 and count. */
export async function probe<T>(op: (i: number) => Promise<unknown>, concurrency: number, during: () => Promise<T>) {
  let done = false;
  // A turn of the event loop per call: a synchronous driver's settled promises would starve the timers.
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

/** The q-quantile of `values` (NaN ones left out), interpolated; NaN when there are none. */
export function quantile(values: number[], q: number): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  const at = (sorted.length - 1) * q;
  const [lower, upper] = [sorted[Math.floor(at)], sorted[Math.ceil(at)]];
  return lower === undefined || upper === undefined ? Number.NaN : lower + (upper - lower) * (at - Math.floor(at));
}
export const median = (values: number[]) => quantile(values, 0.5);

export const HOUR = 3_600_000;

/** A typical logged-in session (~300 bytes of JSON), its cookie an hour ahead. */
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
type CallbackStore = Record<"get" | "destroy", (sid: string, cb: Callback) => void> &
  Record<"set" | "touch", (sid: string, session: object, cb: Callback) => void> & { close?(): unknown };

/** A store called with callbacks, as express-session calls it (no touch if it has none); closing closes it, then runs `after`. */
export function storeContender(name: string, store: object, after?: () => unknown): Contender {
  const s = store as CallbackStore;
  const ops: Contender["ops"] = {
    set: (id, session) => fromCallback((cb) => s.set(id, session, cb)),
    get: (id) => fromCallback((cb) => s.get(id, cb)),
    ...(s.touch && { touch: (id: string, session: Session) => fromCallback((cb) => s.touch(id, session, cb)) }),
    destroy: (id) => fromCallback((cb) => s.destroy(id, cb)),
  };
  const close = async () => {
    await s.close?.();
    await after?.();
  };
  return { name, ops, close };
}

/** Compares the contenders (the first the baseline) into one section, then closes them; the first note says how. */
export async function compareSection(
  title: string,
  contenders: Contender[],
  options: CompareOptions,
  log: Log,
  notes: { setup?: string; more: string[] },
): Promise<BenchSection> {
  const measurements = await compare(contenders, options, log).finally(() => closeAll(contenders, log));
  const repeats = Object.entries(options.repeat ?? {}).map(
    ([op, n]) => ` (${op}: ${n} times as many, over the same ids)`,
  );
  const how = `${options.ops.toLocaleString("en")} operations per run${repeats.join("")}, ${options.concurrency} in flight, median of ${options.rounds} interleaved rounds after a warm-up round`;
  const first = `${how}${notes.setup ? `; ${notes.setup}` : ""}.`;
  return { title, baseline: (contenders[0] as Contender).name, measurements, notes: [first, ...notes.more] };
}

/** Closes every contender not closed yet, logging what fails: one bad close hides no result. */
export async function closeAll(contenders: Contender[], log: Log): Promise<void> {
  for (const c of contenders) {
    const close = c.close;
    c.close = undefined;
    await close?.call(c).catch((e) => log(`could not close ${c.name}: ${String(e)}`));
  }
}
