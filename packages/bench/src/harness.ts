// The one harness every section uses: contenders, interleaved rounds, medians, and a probe of
// live traffic's latency while a job (a prune) runs.
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers/promises";

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

/** A table of measurements against one baseline, e.g. "knex on PostgreSQL". */
export interface BenchSection {
  title: string;
  /** The contender the ratios are computed against (the raw driver). */
  baseline: string;
  measurements: Measurement[];
  notes?: string[];
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
  close?(): Promise<unknown>;
  note?: string;
}

export interface CompareOptions {
  /** Operations per timed run. */
  ops: number;
  /** Timed rounds; one untimed warm-up round (a quarter of the operations) runs first. */
  rounds: number;
  /** Operations in flight (like concurrent requests). */
  concurrency: number;
  /** The operations, in the order each round runs them over its ids: OPS unless given. */
  sequence?: readonly string[];
}

/**
 * Every contender runs every operation once per round, the contenders in an order that rotates
 * from round to round, so background load and drift fall on all alike. Within a round the
 * operations go in sequence (set, get, touch, destroy unless given) over the same ids (fresh ids each round). Each run
 * starts on a collected heap. Reported: each contender's median run (throughput, and p99).
 */
export async function compare(
  contenders: Contender[],
  options: CompareOptions,
  log: (message: string) => void,
): Promise<Measurement[]> {
  const runs = new Map<string, Array<{ opsPerSec: number; p99Ms: number }>>();
  const session = benchSession();
  const sequence = options.sequence ?? OPS;
  for (let round = 0; round <= options.rounds; round++) {
    for (const op of sequence) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + round) % contenders.length] as Contender;
        const fn = c.ops[op];
        if (!fn) continue;
        const ops = round === 0 ? Math.ceil(options.ops / 4) : options.ops;
        const result = await timed((i) => fn(`r${round}-${i}`, session), ops, options.concurrency);
        if (round > 0) runs.set(`${c.name}\0${op}`, [...(runs.get(`${c.name}\0${op}`) ?? []), result]);
      }
    }
    log(round === 0 ? "warm-up round done" : `round ${round}/${options.rounds} done`);
  }
  return sequence.flatMap((op) =>
    contenders.flatMap((c) => {
      const own = runs.get(`${c.name}\0${op}`);
      if (!own) return [];
      const m = { contender: c.name, op, opsPerSec: median(own.map((r) => r.opsPerSec)) };
      return [{ ...m, p99Ms: median(own.map((r) => r.p99Ms)), ...(c.note ? { note: c.note } : {}) }];
    }),
  );
}

/** Runs `op(0..ops-1)` with `concurrency` in flight on a collected heap: ops/s and p99 latency. */
export async function timed(
  op: (i: number) => Promise<unknown>,
  ops: number,
  concurrency: number,
): Promise<{ opsPerSec: number; p99Ms: number }> {
  collectGarbage();
  const latencies = new Float64Array(ops);
  let next = 0;
  const worker = async () => {
    while (next < ops) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      latencies[i] = performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, worker));
  const elapsed = performance.now() - started;
  return { opsPerSec: (ops / elapsed) * 1000, p99Ms: quantile(Array.from(latencies), 0.99) };
}

/**
 * Live traffic (`op(i)`, `concurrency` in flight) for as long as `during` runs: the p99 latency
 * of the operations that overlapped it, and how many there were. `during`'s own result is kept.
 */
export async function probe<T>(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  during: () => Promise<T>,
): Promise<{ result: T; p99Ms: number; ops: number; ms: number }> {
  const latencies: number[] = [];
  let done = false;
  let next = 0;
  const worker = async () => {
    while (!done) {
      const t0 = performance.now();
      await op(next++);
      latencies.push(performance.now() - t0);
      // A synchronous driver (better-sqlite3) answers with settled promises: without a turn of the
      // event loop here, the timer that ends the probe would never fire.
      await setImmediate();
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  const t0 = performance.now();
  try {
    const result = await during();
    const ms = performance.now() - t0;
    return { result, ms, p99Ms: quantile(latencies, 0.99), ops: latencies.length };
  } finally {
    done = true;
    await Promise.all(workers);
  }
}

/** A full garbage collection: `node --expose-gc` (the flag is on `pnpm bench`'s command line). */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
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

type Callback = (err: unknown, value?: unknown) => void;
/** The callback API express-session calls a store through. */
export interface CallbackStore {
  get(sid: string, cb: Callback): void;
  set(sid: string, session: object, cb: Callback): void;
  touch?(sid: string, session: object, cb: Callback): void;
  destroy(sid: string, cb: Callback): void;
}

const promised = (start: (cb: Callback) => void) =>
  new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));

/** A store's operations called the way express-session calls them: with callbacks. */
export function viaCallbacks(store: CallbackStore): Contender["ops"] {
  const { touch } = store;
  return {
    set: (id, s) => promised((cb) => store.set(id, s, cb)),
    get: (id) => promised((cb) => store.get(id, cb)),
    ...(touch ? { touch: (id: string, s: Session) => promised((cb) => touch.call(store, id, s, cb)) } : {}),
    destroy: (id) => promised((cb) => store.destroy(id, cb)),
  };
}

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

/**
 * A store driven through its callbacks, as express-session drives it; closing it closes the
 * store, then runs `after` (e.g. ends the client the benchmark made for it).
 */
export function storeContender(
  name: string,
  store: { close(): Promise<unknown> },
  after: () => Promise<unknown> = async () => {},
): Contender {
  return {
    name,
    ops: viaCallbacks(store as unknown as CallbackStore),
    close: async () => {
      await store.close();
      await after();
    },
  };
}

/**
 * Compares the contenders into one section, the first one the baseline; its first note says how
 * (operations, concurrency, rounds, then `setup` when given), `notes` follow. Closes nothing.
 */
export async function compareSection(
  title: string,
  contenders: Contender[],
  options: CompareOptions,
  log: (message: string) => void,
  notes: { setup?: string; more: string[] },
): Promise<BenchSection> {
  const measurements = await compare(contenders, options, log);
  const how = `${options.ops.toLocaleString("en")} operations per run, ${options.concurrency} in flight, median of ${options.rounds} interleaved rounds after a warm-up round`;
  return {
    title,
    baseline: (contenders[0] as Contender).name,
    measurements,
    notes: [`${how}${notes.setup ? `; ${notes.setup}` : ""}.`, ...notes.more],
  };
}

/** Closes every contender, logging (not throwing) what fails, so one bad close hides no result. */
export async function closeAll(contenders: Contender[], log: (m: string) => void): Promise<void> {
  for (const c of contenders) await c.close?.().catch((e) => log(`could not close ${c.name}: ${String(e)}`));
}
