/**
 * The one clock of a store under test: `now()` is a fixed start plus an offset the test moves,
 * so time passes only when the test says so (no sleeps) and every moment the store wrote is
 * known exactly. `reset()` starts it at the real time, so expiries that an HTTP framework computes
 * from the real clock (express-session's `cookie.expires`) are in the store's present too.
 */
export class TestClock {
  private start = Date.now();
  private offset = 0;

  /** The store's `now` option. */
  readonly now = (): number => this.start + this.offset;

  /** Makes `ms` milliseconds pass. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`a clock only moves forward, got ${ms} ms`);
    this.offset += ms;
  }

  /** Starts again at the real time, with no offset (between tests, after the store was cleared). */
  reset(): void {
    this.start = Date.now();
    this.offset = 0;
  }
}
