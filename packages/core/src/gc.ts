import { setImmediate as yieldEventLoop } from "node:timers/promises";
import type { SessionBackend } from "./backend.js";
import type { Logger } from "./logger.js";
import { MAX_TIMER_MS } from "./resolve-options.js";

export interface GcSettings {
  /** Milliseconds between runs (the average: each wait is jittered ±50%). 0 = no background runs. */
  intervalMs: number;
  /** Records asked for in the first batch. */
  batchSize: number;
  /** Target duration of one batch, ms. */
  batchTime: number;
  /** The store's clock. */
  now: () => number;
  /** Bounds one backend call in time (the store's operation timeout). */
  bound: <T>(work: Promise<T>, label: string) => Promise<T>;
}

/**
 * The size of the next batch: the one that would have taken `batchTime` at the pace this one
 * went (so a machine under load, or a slow disk, gets smaller batches and a fast one larger),
 * moving at most 4× per batch so one odd measurement can't swing it far. A short batch (the end
 * of the backlog) says nothing about pace when it found little: the size stays.
 */
export function nextBatch(limit: number, deleted: number, took: number, batchTime: number, minBatch: number): number {
  if (deleted < limit && took <= batchTime) return limit;
  const ideal = (limit * batchTime) / Math.max(took, 0.01);
  const bounded = Math.min(Math.max(ideal, limit / 4), limit * 4);
  return Math.round(Math.min(Math.max(bounded, minBatch), MAX_BATCH));
}

/** Longest wait after repeated failures, as a multiple of the interval. */
const MAX_BACKOFF_FACTOR = 32;
const MIN_BATCH = 100;
const MAX_BATCH = 100_000;

/**
 * Deletes expired sessions (and passed tombstones) in the background. Gentle and fast at once:
 * - batches are bounded, so no statement holds its locks for a whole backlog, and several
 *   instances pruning at once don't queue behind each other;
 * - each batch's size follows how long the last one took (`nextBatch`): the size that takes
 *   `batchTime` at the pace measured. A run starts at the size the last one ended with, but never
 *   above `batchSize`: a pace learned on a dense backlog overshoots on a table where expired rows
 *   are few and scattered (each costs more), and on SQLite the first batch would block the app
 *   for several times `batchTime`; a smaller size learned on a slow database carries over;
 * - the event loop is yielded between batches, so an in-process database (SQLite, PouchDB in
 *   memory) serves requests between them instead of stalling for the whole backlog;
 * - never two runs at once, on an unref'd timer (it never keeps the process alive), backing off
 *   exponentially while the backend fails.
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private failures = 0;
  private stopped = false;
  private batch: number;
  private readonly firstBatch: number;
  private readonly minBatch: number;

  constructor(
    private readonly backend: SessionBackend,
    private readonly settings: GcSettings,
    private readonly log: Logger,
  ) {
    this.firstBatch = Math.min(settings.batchSize, MAX_BATCH);
    this.batch = this.firstBatch;
    this.minBatch = Math.min(settings.batchSize, MIN_BATCH);
  }

  start(): void {
    if (this.settings.intervalMs > 0 && !this.stopped && !this.timer) this.schedule();
  }

  /** Runs a collection now (or joins the one under way) and resolves with how many were deleted. */
  run(): Promise<number> {
    this.running ??= this.collect().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and waits for a run under way (bounded: each batch has a deadline). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  /** The delay before the next run: jittered, backed off after failures, never past setTimeout's ceiling. */
  nextDelay(random = Math.random()): number {
    const backoff = Math.min(2 ** this.failures, MAX_BACKOFF_FACTOR);
    const jitter = 0.5 + random; // ±50%
    return Math.min(Math.round(this.settings.intervalMs * backoff * jitter), MAX_TIMER_MS);
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.tick(), this.nextDelay());
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    this.run()
      .catch(() => {}) // already logged by collect(); the backoff below is the response
      .finally(() => {
        if (!this.stopped) this.schedule();
      });
  }

  private async collect(): Promise<number> {
    const started = performance.now();
    const { batchTime, now, bound } = this.settings;
    let total = 0;
    let batches = 0;
    this.batch = Math.min(this.batch, this.firstBatch);
    try {
      for (;;) {
        const limit = this.batch;
        const t0 = performance.now();
        const deleted = await bound(Promise.resolve(this.backend.deleteExpired(now(), limit)), "deleteExpired");
        const took = performance.now() - t0;
        total += deleted;
        batches++;
        this.batch = nextBatch(limit, deleted, took, batchTime, this.minBatch);
        if (deleted < limit || this.stopped) break;
        await yieldEventLoop(); // let requests waiting on this process run between batches
      }
      this.failures = 0;
      // A run that found nothing is routine: keep it out of the info log.
      const level = total > 0 ? "info" : "debug";
      const ms = Math.round(performance.now() - started);
      this.log[level]({ op: "gc", deleted: total, batches, nextBatch: this.batch, ms }, "expired sessions collected");
      return total;
    } catch (error) {
      this.failures++;
      this.log.error(
        { op: "gc", err: error, deleted: total, failures: this.failures },
        "garbage collection failed; backing off",
      );
      throw error;
    }
  }
}
