import type { SessionBackend } from "./backend.js";
import type { Logger } from "./logger.js";

export interface GcSettings {
  /** Milliseconds between runs (the average: each wait is jittered ±50%). 0 = no background runs. */
  intervalMs: number;
  batchSize: number;
}

/** Longest wait after repeated failures. */
const MAX_BACKOFF_FACTOR = 32;

/**
 * Deletes expired sessions in the background: in batches until a short one, never two runs
 * at once, on an unref'd timer (it never keeps the process alive), backing off exponentially
 * while the backend fails.
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly backend: SessionBackend,
    private readonly settings: GcSettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.settings.intervalMs > 0 && !this.stopped) this.schedule();
  }

  /** Runs a collection now (or joins the one under way) and resolves with how many were deleted. */
  run(): Promise<number> {
    this.running ??= this.collect().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => {});
  }

  private schedule(): void {
    const backoff = Math.min(2 ** this.failures, MAX_BACKOFF_FACTOR);
    const jitter = 0.5 + Math.random(); // ±50%
    this.timer = setTimeout(() => this.tick(), this.settings.intervalMs * backoff * jitter);
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
    const started = Date.now();
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.backend.deleteExpired(Date.now(), this.settings.batchSize);
        total += deleted;
        if (deleted < this.settings.batchSize || this.stopped) break;
      }
      this.failures = 0;
      // A run that found nothing is routine: keep it out of the info log.
      const level = total > 0 ? "info" : "debug";
      this.log[level]({ op: "gc", deleted: total, ms: Date.now() - started }, "expired sessions collected");
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
