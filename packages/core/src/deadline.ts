import { ErrorCodes, SessionStoreError } from "./errors.js";

/** One call being watched, a link of the list of pending calls (oldest first). */
export interface Watched {
  readonly at: number;
  readonly label: string;
  /** Settles the call with a timeout; null once the watch has ended. */
  fail: ((error: SessionStoreError) => void) | null;
  prev: Watched | null;
  next: Watched | null;
}

/**
 * Bounds backend calls in time. Instead of a timer per call (a setTimeout and a clearTimeout on
 * every request), pending calls sit in a list that one unref'd timer sweeps while any is pending:
 * a call fails with `ERR_SESSION_TIMEOUT` between `ms` and `1.25 × ms` after it started. The list
 * is linked through the entries (no Set: hashing a fresh object per call costs more than the rest
 * of a call's bookkeeping), and since every call gets the same `ms`, it is ordered by deadline:
 * a sweep stops at the first entry not yet due.
 */
export class Deadlines {
  private head: Watched | null = null;
  private tail: Watched | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly backendName: string,
  ) {}

  /**
   * Starts watching a call: `fail` gets a TIMEOUT error if `finish` has not been called in time.
   * The caller settles the call itself, once `finish` says it is the first to (the timeout may
   * have been). No promise of its own: on the hot path the store settles its caller directly.
   */
  start(label: string, fail: (error: SessionStoreError) => void): Watched {
    const entry: Watched = { at: performance.now() + this.ms, label, fail, prev: this.tail, next: null };
    if (this.tail === null) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    if (this.timer === undefined) this.arm();
    return entry;
  }

  /** Ends the watch; false when it had already ended (timed out, or finished before). */
  finish(entry: Watched): boolean {
    if (entry.fail === null) return false;
    entry.fail = null;
    const { prev, next } = entry;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = null;
    return true;
  }

  /** `work`, or a TIMEOUT rejection if it has not settled in time. The work itself is not cancelled. */
  bound<T>(work: Promise<T>, label: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = this.start(label, reject);
      work.then(
        (value) => {
          if (this.finish(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.finish(entry)) reject(error);
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
    this.timer = setInterval(() => this.sweep(), Math.max(1, Math.ceil(this.ms / 4)));
    this.timer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    while (this.head !== null && this.head.at <= now) {
      const entry = this.head;
      const fail = entry.fail as (error: SessionStoreError) => void;
      this.finish(entry);
      fail(
        new SessionStoreError(
          ErrorCodes.TIMEOUT,
          `sessionkit: ${this.backendName} did not answer ${entry.label} within ${this.ms} ms (option operationTimeout)`,
        ),
      );
    }
    if (this.head === null) this.stop();
  }
}
