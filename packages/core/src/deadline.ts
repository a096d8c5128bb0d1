import { ErrorCodes, SessionStoreError } from "./errors.js";

interface Pending {
  readonly at: number;
  readonly fail: (error: SessionStoreError) => void;
  readonly label: string;
}

/**
 * Bounds backend calls in time. Instead of a timer per call (a setTimeout and a clearTimeout on
 * every request), pending calls sit in a set that one unref'd timer sweeps while any is pending:
 * a call fails with `ERR_SESSION_TIMEOUT` between `ms` and `1.25 × ms` after it started.
 */
export class Deadlines {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly backendName: string,
  ) {}

  /** `work`, or a TIMEOUT rejection if it has not settled in time. The work itself is not cancelled. */
  bound<T>(work: Promise<T>, label: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { at: performance.now() + this.ms, fail: reject, label };
      this.pending.add(entry);
      this.arm();
      work.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(entry);
          reject(error);
        },
      );
    });
  }

  /** Stops the sweeper (pending calls are left to settle by themselves). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), Math.max(1, Math.ceil(this.ms / 4)));
    this.timer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.at > now) continue;
      this.pending.delete(entry);
      entry.fail(
        new SessionStoreError(
          ErrorCodes.TIMEOUT,
          `sessionkit: ${this.backendName} did not answer ${entry.label} within ${this.ms} ms (option operationTimeout)`,
        ),
      );
    }
    if (this.pending.size === 0) this.stop();
  }
}
