import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** One measured operation of one contender. */
export interface Measurement {
  /** Who ran it, e.g. "sessionkit", "raw pg", "connect-pg-simple". */
  contender: string;
  /** The operation, e.g. "get", "set", "touch", "destroy", "prune". */
  op: string;
  /** Operations per second (for one-shot jobs such as a prune: rows per second). */
  opsPerSec: number;
  /** 99th percentile latency of one operation, in milliseconds (undefined for one-shot jobs). */
  p99Ms?: number;
  /** A caveat printed beside the figure, e.g. "write-behind: acknowledged before written". */
  note?: string;
}

/** A table of measurements against one baseline, e.g. "knex on PostgreSQL". */
export interface BenchSection {
  title: string;
  /** The contender the ratios are computed against (usually the raw driver). */
  baseline: string;
  measurements: Measurement[];
  /** Free text shown under the table: sizes, caveats. */
  notes?: string[];
}

/** Passed to every adapter benchmark. */
export interface BenchContext {
  /** "small" runs in a few minutes on 2 cores; "large" for a closer look. */
  size: "small" | "large";
  /** Prints progress. */
  log(message: string): void;
}

/** An adapter's benchmark module exports this. */
export type Benchmark = (ctx: BenchContext) => Promise<BenchSection[]>;

export interface MeasureOptions {
  /** How many operations to time. */
  ops: number;
  /** How many run at once (like concurrent requests). Default 8. */
  concurrency?: number;
  /** Untimed operations first, to warm caches and JIT. Default ops / 10. */
  warmup?: number;
}

/**
 * Runs `op(i)` `ops` times with `concurrency` in flight and returns ops/s and p99 latency.
 * `i` runs from 0 to ops-1 so an operation can pick its own key.
 */
export async function measure(
  op: (i: number) => Promise<unknown>,
  options: MeasureOptions,
): Promise<{ opsPerSec: number; p99Ms: number }> {
  const concurrency = options.concurrency ?? 8;
  const warmup = options.warmup ?? Math.ceil(options.ops / 10);
  await runPool(op, warmup, concurrency, undefined);
  // Every timed run starts on a collected heap, so no run pays for the garbage of the one before
  // (in side-by-side runs that is the other contender's).
  collectGarbage();
  const latencies = new Float64Array(options.ops);
  const started = performance.now();
  await runPool(op, options.ops, concurrency, latencies);
  const elapsed = performance.now() - started;
  latencies.sort();
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
  return { opsPerSec: (options.ops / elapsed) * 1000, p99Ms: p99 };
}

/**
 * A full garbage collection, as `node --expose-gc` offers it. The flag is set at run time so
 * `pnpm bench` needs no node flags; the function it exposes is fetched from a fresh context.
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

async function runPool(
  op: (i: number) => Promise<unknown>,
  total: number,
  concurrency: number,
  latencies: Float64Array | undefined,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await op(i);
      if (latencies) latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

/** Times a one-shot job (e.g. a prune) and returns items per second. */
export async function timeJob(job: () => Promise<number>): Promise<{ items: number; ms: number; perSec: number }> {
  const t0 = performance.now();
  const items = await job();
  const ms = performance.now() - t0;
  return { items, ms, perSec: (items / ms) * 1000 };
}

/** Wraps a callback-style store method as a promise (for express-session stores). */
export function promisifyCallback<T>(fn: (cb: (err: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

const HOUR_MS = 3_600_000;

/**
 * The session every benchmark stores: a typical logged-in express-session session (about 300
 * bytes of JSON), its cookie expiring at `expires` (a Date, as express-session keeps it).
 */
export function benchSession(expires = new Date(Date.now() + HOUR_MS)) {
  return {
    cookie: { originalMaxAge: HOUR_MS, expires, httpOnly: true, path: "/", secure: false },
    user: { id: 4242, name: "Alice Example", roles: ["reader", "editor"] },
    csrf: "f3a9c0b1d2e4f5a6b7c8d9e0f1a2b3c4",
    views: 17,
    cart: [
      { sku: "A-100", qty: 2 },
      { sku: "B-205", qty: 1 },
    ],
  };
}
